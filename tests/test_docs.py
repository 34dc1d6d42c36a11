"""The documentation stays true to the CLI: README.md and docs/*.md.

- every ``routerctl <subcommand...> --option`` written in a code block or inline code names a
  subcommand path and options the real CLI has (walked from the typer app, not a copy);
- every option in the first column of a table, in a section whose heading names ``routerctl``
  commands, exists on one of those commands;
- the exit-code tables list exactly ``routerctl.errors.ExitCode``;
- relative links resolve (files, and ``#anchors`` in Markdown files);
- README.md stays a short front page (at most 250 lines) and docs/index.md links every page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import typer.main

import routerctl.cli
from routerctl.errors import ExitCode

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
MAX_README_LINES = 250
HELP_OPTIONS = frozenset({"-h", "--help"})


def doc_files() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


# --- the real CLI, as a tree -------------------------------------------------------------


@dataclass(frozen=True)
class CliNode:
    """One command of the CLI: its options, and its subcommands when it is a group."""

    options: frozenset[str]
    subcommands: Mapping[str, CliNode] = field(default_factory=dict)

    def all_options(self) -> frozenset[str]:
        """Options of this command and of every command below it."""
        found = set(self.options)
        for sub in self.subcommands.values():
            found |= sub.all_options()
        return frozenset(found)


def _tree(command: Any) -> CliNode:
    # Duck-typed over click's Command/Group (typer vendors its own click): no click import.
    options: set[str] = set()
    for param in command.params:
        if getattr(param, "param_type_name", "") == "option":
            options.update(param.opts)
            options.update(param.secondary_opts)
    subs = getattr(command, "commands", None) or {}
    return CliNode(frozenset(options), {name: _tree(sub) for name, sub in subs.items()})


def real_cli() -> CliNode:
    return _tree(typer.main.get_command(routerctl.cli.app))


# --- reading Markdown --------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """A piece of code in a document: a fenced line, or an inline code span."""

    line: int
    text: str
    fenced: bool


def code_spans(text: str) -> Iterator[Span]:
    """Every line of a fenced block, and every inline code span (which may wrap lines)."""
    lines = text.split("\n")
    fence = False
    chunk: list[str] = []
    chunk_start = 1

    def inline(start: int, block: list[str]) -> Iterator[Span]:
        joined = "\n".join(block)
        for m in re.finditer(r"(`+)(.+?)\1", joined, re.S):
            line = start + joined.count("\n", 0, m.start())
            yield Span(line, m.group(2).replace("\n", " ").replace("\\|", "|").strip(), False)

    for n, line in enumerate(lines, 1):
        if line.lstrip().startswith("```"):
            if not fence:
                yield from inline(chunk_start, chunk)
                chunk = []
            else:
                chunk_start = n + 1
            fence = not fence
            continue
        if fence:
            yield Span(n, line, True)
        else:
            if not chunk:
                chunk_start = n
            chunk.append(line)
    yield from inline(chunk_start, chunk)


# Where a command starts inside a span: shell separators (spaced, so `frr|quagga` is not one).
_SEPARATORS = re.compile(r"\s+\|\|?\s+|;\s+|\s+&&\s+|\$\(")
# Prompts, sudo, time and VAR=value before the command.
_PREFIX = re.compile(r"^(?:[$#>]\s+|sudo\s+|time\s+|[A-Z_][A-Z0-9_]*=\S*\s+)+")
_COMMAND = re.compile(r"^(?:[\w.~-]*/)*routerctl(?:\s+|$)")
_OPTION = re.compile(r"--?[A-Za-z][\w-]*")
_WORD = re.compile(r"[a-z][a-z0-9-]*(?:/(?:[a-z][a-z0-9-]*|\.\.\.))*")


def command_mentions(span: str) -> Iterator[list[str]]:
    """The argument words of every ``routerctl ...`` command written in one span.

    Only a span that starts as a command line does (a prompt, ``sudo``, ``VAR=value`` or
    ``routerctl`` itself); later commands in it count after a shell separator. Output such
    as ``routerctl: error: ...; routerctl will not ...`` is not a command.
    """
    pieces = _SEPARATORS.split(span.strip())
    first = pieces[0]
    if not (_PREFIX.match(first) or _COMMAND.match(first)):
        return
    for piece in pieces:
        command = _PREFIX.sub("", piece.strip())
        m = _COMMAND.match(command)
        if m:
            yield command[m.end() :].split()


def check_command(cli: CliNode, words: list[str]) -> tuple[list[str], list[CliNode]]:
    """Problems in one mention, and the commands it names (several for ``a/b``)."""
    problems: list[str] = []
    targets: list[tuple[str, CliNode]] = [("routerctl", cli)]
    descending = True
    for raw in words:
        if raw.startswith(("#", ">", "<", "2>")):
            break  # a comment or a redirection: the command ended
        word = raw.strip("[](),'\"`")
        if word == "--":
            break  # everything after is passed on (lab ssh -- CMD)
        if word.startswith("-"):
            opt = word.split("=", 1)[0]
            if not _OPTION.fullmatch(opt):
                continue
            for path, node in targets:
                if opt not in node.options | HELP_OPTIONS:
                    problems.append(f"{path}: no option {opt}")
            continue
        if descending and all(node.subcommands for _, node in targets):
            if not _WORD.fullmatch(word):
                descending = False  # a placeholder such as FILE: not a subcommand
                continue
            names = [name for name in word.split("/") if name != "..."]
            following: list[tuple[str, CliNode]] = []
            for path, node in targets:
                for name in names:
                    if name in node.subcommands:
                        following.append((f"{path} {name}", node.subcommands[name]))
                    else:
                        problems.append(f"{path}: no subcommand {name!r}")
            if not following:
                break
            targets = following
        else:
            descending = False  # a positional argument of the leaf command
    return problems, [node for _, node in targets]


def table_option_cells(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line, options) for each table row whose first cell lists options (`-t, --topology F`)."""
    fence = False
    for n, line in enumerate(text.split("\n"), 1):
        if line.lstrip().startswith("```"):
            fence = not fence
        if fence or not line.startswith("|"):
            continue
        first = re.split(r"(?<!\\)\|", line)[1]
        opts = [
            m.group(0)
            for span in re.findall(r"`([^`]+)`", first)
            if span.startswith("-")
            for m in _OPTION.finditer(span)
            if m.start() == 0 or span[m.start() - 1] in " ,/["
        ]
        if opts:
            yield n, opts


def section_scopes(cli: CliNode, text: str) -> list[tuple[int, list[CliNode]]]:
    """(heading line, commands governing the section it starts), in document order.

    A heading naming ``routerctl`` commands in inline code governs its section and the
    sections below it, until a heading of the same or a higher level replaces it.
    """
    scopes: list[tuple[int, list[CliNode]]] = []
    stack: dict[int, list[CliNode]] = {}
    fence = False
    for n, line in enumerate(text.split("\n"), 1):
        if line.lstrip().startswith("```"):
            fence = not fence
        m = None if fence else re.match(r"(#+)\s", line)
        if not m:
            continue
        level = len(m.group(1))
        stack = {lvl: nodes for lvl, nodes in stack.items() if lvl < level}
        named = [
            node
            for span in code_spans(line)
            for words in command_mentions(span.text)
            for node in check_command(cli, words)[1]
        ]
        if named:
            stack[level] = named
        scopes.append((n, stack[max(stack)] if stack else []))
    return scopes


def check_text(cli: CliNode, text: str, name: str = "<doc>") -> list[str]:
    """Every problem in one document, as ``name:line: what``."""
    problems: list[str] = []
    for span in code_spans(text):
        for words in command_mentions(span.text):
            for problem in check_command(cli, words)[0]:
                problems.append(f"{name}:{span.line}: {problem} (in {span.text.strip()!r})")
    scopes = section_scopes(cli, text)
    for line, opts in table_option_cells(text):
        nodes = next((nodes for start, nodes in reversed(scopes) if start <= line), [])
        if not nodes:
            continue  # a table of something else (python -m bench, the topology's keys)
        known = frozenset().union(*(node.all_options() for node in nodes)) | HELP_OPTIONS
        for opt in opts:
            if opt not in known:
                problems.append(
                    f"{name}:{line}: no option {opt} on the command(s) this section documents"
                )
    return problems


# --- links and anchors ---------------------------------------------------------------------


def github_anchors(text: str) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown text."""
    anchors: set[str] = set()
    fence = False
    for line in text.split("\n"):
        if line.lstrip().startswith("```"):
            fence = not fence
        m = None if fence else re.match(r"#+\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        slug = re.sub(r"[^\w\- ]", "", m.group(1).lower()).replace(" ", "-")
        candidate, i = slug, 0
        while candidate in anchors:
            i += 1
            candidate = f"{slug}-{i}"
        anchors.add(candidate)
    return anchors


def relative_links(text: str) -> Iterator[tuple[int, str]]:
    """(line, target) of every Markdown link that is not a URL, outside code."""
    fence = False
    for n, line in enumerate(text.split("\n"), 1):
        if line.lstrip().startswith("```"):
            fence = not fence
        if fence:
            continue
        prose = re.sub(r"(`+).+?\1", "", line)
        for m in re.finditer(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", prose):
            target = m.group(1)
            if not re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                yield n, target


def check_links(path: Path, root: Path = ROOT) -> list[str]:
    problems = []
    text = path.read_text(encoding="utf-8")
    for n, target in relative_links(text):
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        where = f"{path.relative_to(root)}:{n}"
        if not dest.exists():
            problems.append(f"{where}: broken link {target}")
        elif anchor and dest.suffix == ".md" and anchor not in github_anchors(dest.read_text()):
            problems.append(f"{where}: no heading #{anchor} in {file_part or path.name}")
    return problems


# --- the checks on the real documents -------------------------------------------------------


@pytest.fixture(scope="module")
def cli() -> CliNode:
    return real_cli()


@pytest.mark.parametrize("path", doc_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_documented_commands_and_options_exist(cli: CliNode, path: Path) -> None:
    problems = check_text(cli, path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert problems == []


def test_the_documents_mention_many_commands() -> None:
    """Guards the extractor itself: it must keep finding the commands the docs show."""
    mentions = [
        words
        for path in doc_files()
        for span in code_spans(path.read_text(encoding="utf-8"))
        for words in command_mentions(span.text)
    ]
    assert len(mentions) > 100
    assert ["verify", "-t", "/run/routerctl-lab/demo/routerctl.yaml", "--nagios"] in mentions


@pytest.mark.parametrize("path", doc_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path: Path) -> None:
    assert check_links(path) == []


def test_readme_is_a_short_front_page() -> None:
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines; move reference to docs/"


def test_docs_index_links_every_page() -> None:
    index = DOCS / "index.md"
    linked = {target.partition("#")[0] for _, target in relative_links(index.read_text())}
    pages = {p.name for p in DOCS.glob("*.md")} - {"index.md"}
    assert pages - linked == set()
    assert "docs/index.md" in {t for _, t in relative_links(README.read_text())}


def _exit_code_table(text: str) -> set[int]:
    """The codes in the first column of the table under the first ``Exit codes`` heading."""
    section = re.split(r"^#+ Exit codes\s*$", text, maxsplit=1, flags=re.M)[1]
    section = re.split(r"^#", section, maxsplit=1, flags=re.M)[0]
    return {int(m.group(1)) for m in re.finditer(r"^\|\s*(\d+)\s*\|", section, re.M)}


@pytest.mark.parametrize("path", [README, DOCS / "exit-codes.md"], ids=lambda p: p.name)
def test_exit_code_tables_match_the_code(path: Path) -> None:
    codes = {v for k, v in vars(ExitCode).items() if k.isupper() and isinstance(v, int)}
    assert _exit_code_table(path.read_text(encoding="utf-8")) == codes


# --- the checker fails when it should ----------------------------------------------------

FAKE_CLI = CliNode(
    frozenset({"--debug", "--help"}),
    {
        "verify": CliNode(frozenset({"-t", "--topology", "--probe", "--nagios"})),
        "lab": CliNode(
            frozenset(),
            {"up": CliNode(frozenset({"--name", "-n"})), "down": CliNode(frozenset({"--name"}))},
        ),
    },
)

SYNTHETIC_DOC = """\
# `routerctl verify`

Run `routerctl verify --no-such-option` or `routerctl verfy -t x.yaml`.

| option | meaning |
| --- | --- |
| `--nagios` | fine |
| `-x, --gone FILE` | documented, but not on the command |

```console
$ sudo routerctl lab up/dwn --name x
$ routerctl lab up --name x | routerctl verify --probe --nope; echo $?
# Rendered by routerctl from a.yaml: do not edit.
routerctl: error: no option --whatever (this is output, not a command)
```
"""


def test_the_checker_reports_missing_subcommands_and_options() -> None:
    problems = check_text(FAKE_CLI, SYNTHETIC_DOC, "x.md")
    assert problems == [
        "x.md:3: routerctl verify: no option --no-such-option (in 'routerctl verify --no-such-option')",
        "x.md:3: routerctl: no subcommand 'verfy' (in 'routerctl verfy -t x.yaml')",
        "x.md:11: routerctl lab: no subcommand 'dwn' (in '$ sudo routerctl lab up/dwn --name x')",
        "x.md:12: routerctl verify: no option --nope"
        " (in '$ routerctl lab up --name x | routerctl verify --probe --nope; echo $?')",
        "x.md:8: no option -x on the command(s) this section documents",
        "x.md:8: no option --gone on the command(s) this section documents",
    ]


def test_the_checker_accepts_what_exists() -> None:
    ok = "`routerctl lab up/down --name x`, `routerctl --debug verify -t f --probe`, `routerctl -h`"
    assert check_text(FAKE_CLI, ok) == []


def test_a_renamed_option_in_the_real_cli_would_fail(cli: CliNode) -> None:
    problems = check_text(cli, "`routerctl verify --no-such-option`")
    assert problems == [
        "<doc>:1: routerctl verify: no option --no-such-option (in 'routerctl verify --no-such-option')"
    ]


def test_broken_links_and_anchors_are_reported(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# Title here\n")
    doc = tmp_path / "b.md"
    doc.write_text(
        "[ok](a.md) [ok](a.md#title-here) [web](https://example.org/x)\n"
        "[gone](missing.md) [bad anchor](a.md#nope) `[in code](nowhere.md)`\n"
    )
    assert check_links(doc, root=tmp_path) == [
        "b.md:2: broken link missing.md",
        "b.md:2: no heading #nope in a.md",
    ]
