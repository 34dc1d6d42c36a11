"""Tell apart suites, commands and JSON; strip a pasted prompt / command echo."""

from __future__ import annotations

import re
from dataclasses import dataclass

from routerctl.platform import PROFILES, SUITE_NAMES, TEXT_SUMMARY_COMMAND

SUITES = SUITE_NAMES

# Keywords a vtysh command may abbreviate ("show bgp vrf all ipv4 uni summ").
_KEYWORDS = (
    "show",
    "ip",
    "ipv4",
    "ipv6",
    "bgp",
    "route",
    "summary",
    "unicast",
    "vrf",
    "all",
    "table",
    "longer-prefixes",
    "neighbors",
    "json",
    "wide",
    "terse",
    "established",
    "failed",
    "remote-as",
)

# A prompt line, optionally with the command echoed after it:
#   OpenWrt# show ip bgp sum | r1(config)# do show ipv6 route |
#   root@host:/var/log/frr# vtysh -c "show ip route table 10012" | eva#
# Matched (fullmatch) against the line with its trailing whitespace stripped, so that no
# two adjacent parts can both take the same run of characters: linear time on any line
# (the old lazy command + ``\s*$`` took 11 s on a 30 KB line of spaces).
_PROMPT = re.compile(
    r"\S*[#>$]\s*(?:vtysh\s+-c\s+[\"']?)?(?:do\s+)?(?P<command>sh(?:ow?)?\s[^\"']*)?[\"']?"
)
_PROMPT_ONLY = re.compile(r"[\w.@:/()~-]+[#>$]")  # fullmatch, on the stripped line
_CONFIG_ECHO = re.compile(r"^[\w.@-]+\([\w-]+\)#\s")  # host(config)# <not a show command>


# Longest line taken for a prompt (with its echoed command). Longer lines are output:
# the prompt regex on one 10 MB line of single-line JSON took 0.9 s (issue 17).
PROMPT_MAX = 4096


def _prompt_only(line: str) -> bool:
    return len(line) <= PROMPT_MAX and _PROMPT_ONLY.fullmatch(line.rstrip()) is not None


# Indicators of a suite, as data: (suite, regex). First hit in this order decides.
_SUITE_MARKERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("quagga", re.compile(r"^Total num\. Established sessions", re.M)),
    ("quagga", re.compile(r" - max multipaths", re.M)),
    ("quagga", re.compile(r"O - OSPFv6|P - PIM, A - Babel", re.M)),
    ("frr", re.compile(r"Unicast Summary|PfxSnt|\bVRF default\b|, weight \d+|\(Policy\)", re.M)),
    ("frr", re.compile(r"F - PBR|D - SHARP|E - EIGRP|q - queued|f - OpenFabric", re.M)),
    ("frr", re.compile(r"^[A-Za-z][> ][*qrtod ] \S+ .*directly connected, \S+, \d", re.M)),
)


@dataclass(frozen=True)
class Prepared:
    """Router output with the prompt/echo lines removed, and what the echo told us."""

    lines: list[str]
    first_line: int  # 1-based line number of lines[0] in the original text
    command: str | None  # echoed command, normalised


def normalise_command(command: str) -> str:
    """Lower-case, single spaces, vtysh abbreviations expanded, ``json`` kept."""
    out = []
    for token in command.strip().lower().split():
        if token.startswith("|"):
            break
        hits = [k for k in _KEYWORDS if k.startswith(token)]
        out.append(token if token in hits or len(hits) != 1 else hits[0])
    return " ".join(out)


def prepare(text: str) -> Prepared:
    """Split into lines, dropping leading prompt/config echo lines and trailing prompts."""
    if "\r" in text:  # one scan instead of two copies of a large output (issue 17)
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    start, command = 0, None
    while start < len(lines):
        line = lines[start]
        if not line.strip():
            start += 1
            continue
        if len(line) > PROMPT_MAX or line.lstrip().startswith(("{", "[")):
            break  # content: a prompt is short and no host name starts with a bracket
        m = _PROMPT.fullmatch(line.rstrip())
        if m and m["command"]:
            command = normalise_command(m["command"])
        elif not (_prompt_only(line) or _CONFIG_ECHO.match(line)):
            break
        start += 1
    end = len(lines)
    while end > start and (not lines[end - 1].strip() or _prompt_only(lines[end - 1])):
        end -= 1
    return Prepared(lines[start:end], start + 1, command)


def is_json(text: str) -> bool:
    """True when the output is FRR JSON (``{`` first, after any prompt lines)."""
    prepared = prepare(text)
    return bool(prepared.lines) and prepared.lines[0].lstrip().startswith("{")


def detect_suite(text: str) -> str:
    """Best guess of the routing suite ("frr" or "quagga") that printed ``text``.

    JSON output is FRR (Quagga has none). Outputs with no marker either way are
    reported as "frr"; callers try the other suite's template when that fails.
    Only the text shapes live here; which suites exist (and which answers JSON) is
    ``routerctl.platform``'s.
    """
    if is_json(text):
        return next(p.name for p in PROFILES.values() if p.json)
    for suite, marker in _SUITE_MARKERS:
        if marker.search(text):
            return suite
    return "frr"


_ROUTE_LINE = re.compile(r"^[A-Za-z](?:\[\d+\])?[> ][*qrtod ] [0-9A-Fa-f.:]+/\d+ ", re.M)


def detect_command(text: str) -> str | None:
    """The show command that printed ``text`` (echo line first, then content)."""
    prepared = prepare(text)
    if prepared.command:
        return prepared.command
    body = "\n".join(prepared.lines)
    if body.lstrip().startswith("{"):
        return _detect_json_command(body)
    if re.search(
        r"^(?:Neighbor\s+V\s|BGP router identifier|% BGP instance not found|"
        r"%? ?No BGP (?:process is configured|neighbors found)|No IPv[46] neighbor is configured)",
        body,
        re.M,
    ):
        return TEXT_SUMMARY_COMMAND
    if re.search(r"^BGP table version is ", body, re.M):
        return "show ip bgp"
    if re.search(r"^Codes: ", body, re.M) or _ROUTE_LINE.search(body):
        v6 = re.search(r"^[A-Za-z].. [0-9A-Fa-f]*:[0-9A-Fa-f:]*/\d+ ", body, re.M)
        return (
            "show ipv6 route"
            if v6 and not re.search(r"^[A-Za-z].. \d+\.", body, re.M)
            else "show ip route"
        )
    return None


def _detect_json_command(body: str) -> str | None:
    head = body[:4000]
    if re.search(r'"bgpState"\s*:|"nbrDesc"\s*:', head):
        return "show bgp neighbors json"
    if re.search(r'"(?:peers|routerId|ipv4Unicast|ipv6Unicast)"\s*:', head):  # after neighbors
        return "show bgp summary json"
    if re.search(r'"prefix"\s*:|"protocol"\s*:', head):
        return "show ip route json"
    if re.fullmatch(r"\{\s*\}", body.strip()):
        return "show bgp summary json"
    return None
