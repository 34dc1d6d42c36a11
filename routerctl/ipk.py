"""Build an OpenWrt ``.ipk`` straight from a feed package's Makefile and ``files/``.

The OpenWrt SDK is the reference build; this builder reads the same Makefile (name,
version, control fields, description, conffiles, the ``install`` recipe, maintainer
scripts) so the two builds ship the same files and cannot drift. Anything in those
sections it does not understand is an error, never silently skipped.

Layout, as opkg reads it: ``debian-binary`` ("2.0"), ``control.tar.gz`` (control,
conffiles, postinst, prerm, ...) and ``data.tar.gz``, wrapped in a gzip'd tar (what
OpenWrt's ``ipkg-build`` writes) or, with ``outer="ar"``, an ar archive (Debian
style, also accepted by opkg).
"""

from __future__ import annotations

import gzip
import io
import re
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

from routerctl.errors import RouterctlError

SCRIPT_NAMES = ("preinst", "postinst", "prerm", "postrm")
# OpenWrt's $(INSTALL_*) macros (rules.mk): install -m0755 / -m0600 / -m0644
INSTALL_MODES = {"INSTALL_BIN": 0o755, "INSTALL_CONF": 0o600, "INSTALL_DATA": 0o644}
CONTROL_FIELDS = ("SECTION", "CATEGORY", "TITLE", "DEPENDS", "PKGARCH", "SUBMENU")


class IpkError(RouterctlError):
    """The package Makefile or files/ cannot be turned into an .ipk."""


@dataclass(frozen=True)
class InstallFile:
    source: str  # relative to the package directory, e.g. files/routerctl-health
    dest: str  # absolute path on the router
    mode: int


@dataclass(frozen=True)
class PackageSpec:
    """What the Makefile says about one package."""

    directory: Path
    name: str
    version: str  # PKG_VERSION-PKG_RELEASE
    license: str
    maintainer: str
    fields: Mapping[str, str]  # SECTION, CATEGORY, TITLE, DEPENDS, PKGARCH, ...
    description: str
    conffiles: tuple[str, ...]
    dirs: tuple[str, ...]
    files: tuple[InstallFile, ...]
    scripts: Mapping[str, str] = field(default_factory=dict)

    @property
    def architecture(self) -> str:
        return self.fields.get("PKGARCH", "all") or "all"

    @property
    def filename(self) -> str:
        return f"{self.name}_{self.version}_{self.architecture}.ipk"

    def depends(self) -> list[str]:
        """OpenWrt DEPENDS (``+pkg``, ``@SYMBOL``) -> opkg Depends names."""
        out = []
        for token in self.fields.get("DEPENDS", "").split():
            if token.startswith("@"):
                continue  # a build-time symbol, not a package
            out.append(token.lstrip("+"))
        return out

    def control(self, installed_size: int) -> str:
        lines = [
            f"Package: {self.name}",
            f"Version: {self.version}",
        ]
        deps = self.depends()
        if deps:
            lines.append(f"Depends: {', '.join(deps)}")
        lines += [
            f"Source: feeds/routerctl/net/{self.name}",
            f"SourceName: {self.name}",
            f"License: {self.license}",
            f"Section: {self.fields.get('SECTION', 'net')}",
            f"Maintainer: {self.maintainer}",
            f"Architecture: {self.architecture}",
            f"Installed-Size: {installed_size}",
        ]
        desc = self.description.splitlines() or [self.fields.get("TITLE", self.name)]
        lines.append(f"Description: {desc[0].strip()}")
        lines += [f" {d.strip()}" if d.strip() else " ." for d in desc[1:]]
        return "\n".join(lines) + "\n"


_ASSIGN = re.compile(r"^\s*([A-Z_]+)\s*:?=\s*(.*?)\s*$")
_DEFINE = re.compile(r"^define\s+(\S+)\s*$")


def _defines(text: str, makefile: Path) -> dict[str, list[str]]:
    blocks: dict[str, list[str]] = {}
    current: str | None = None
    start = 0
    for lineno, line in enumerate(text.splitlines(), 1):
        if current is None:
            m = _DEFINE.match(line)
            if m:
                current, start = m.group(1), lineno
                blocks[current] = []
            continue
        if line.strip() == "endef":
            current = None
            continue
        blocks[current].append(line)
    if current is not None:
        raise IpkError(f"{makefile}:{start}: 'define {current}' has no 'endef'")
    return blocks


def _unescape(line: str, *, makefile: Path, where: str) -> str:
    """Make's ``$$`` -> ``$``; any other make reference is an error (we do not expand)."""
    if re.search(r"\$(?!\$)[({]", line.replace("$$", "")):
        raise IpkError(
            f"{makefile}: {where}: make variable reference in {line.strip()!r}",
            hint="maintainer scripts may only use $$ (a literal $)",
        )
    return line.replace("$$", "$")


def parse_makefile(directory: Path) -> PackageSpec:
    """Read ``directory/Makefile`` (an OpenWrt package Makefile). Raises ``IpkError``."""
    makefile = directory / "Makefile"
    try:
        text = makefile.read_text(encoding="utf-8")
    except OSError as exc:
        raise IpkError(f"cannot read {makefile}: {exc.strerror}") from exc
    top: dict[str, str] = {}
    depth = 0
    for line in text.splitlines():
        if _DEFINE.match(line):
            depth += 1
        elif line.strip() == "endef":
            depth -= 1
        elif depth == 0 and (m := _ASSIGN.match(line)):
            top[m.group(1)] = m.group(2)
    for key in ("PKG_NAME", "PKG_VERSION", "PKG_RELEASE", "PKG_LICENSE"):
        if not top.get(key):
            raise IpkError(f"{makefile}: {key} is not set", hint=f"add '{key}:=...'")
    name = top["PKG_NAME"]
    blocks = _defines(text, makefile)
    pkg = f"Package/{name}"
    if pkg not in blocks:
        raise IpkError(f"{makefile}: no 'define {pkg}' block", hint="PKG_NAME must match it")
    fields: dict[str, str] = {}
    for line in blocks[pkg]:
        m = _ASSIGN.match(line)
        if m and m.group(1) in CONTROL_FIELDS:
            fields[m.group(1)] = m.group(2)
    if fields.get("PKGARCH", "all") != "all":
        raise IpkError(f"{makefile}: PKGARCH is {fields['PKGARCH']!r}; only 'all' is built here")
    description = "\n".join(ln.strip() for ln in blocks.get(f"{pkg}/description", []))
    conffiles = tuple(ln.strip() for ln in blocks.get(f"{pkg}/conffiles", []) if ln.strip())
    dirs: list[str] = []
    files: list[InstallFile] = []
    for raw in blocks.get(f"{pkg}/install", []):
        line = raw.strip()
        if not line:
            continue
        words = line.split()
        macro = re.fullmatch(r"\$\((INSTALL_[A-Z]+)\)", words[0])
        if macro is None:
            raise IpkError(f"{makefile}: install recipe line not understood: {line!r}")
        kind = macro.group(1)
        targets = [w.replace("$(1)", "", 1) for w in words[1:]]
        if kind == "INSTALL_DIR":
            if not all(w.startswith("$(1)/") for w in words[1:]):
                raise IpkError(f"{makefile}: INSTALL_DIR outside $(1): {line!r}")
            dirs.extend(targets)
        elif kind in INSTALL_MODES and len(words) == 3 and words[2].startswith("$(1)/"):
            src = words[1].removeprefix("./")
            dest = targets[1]
            if dest.endswith("/"):
                dest += PurePosixPath(src).name
            if not (directory / src).is_file():
                raise IpkError(f"{makefile}: install recipe names {src}, which does not exist")
            files.append(InstallFile(src, dest, INSTALL_MODES[kind]))
        else:
            raise IpkError(f"{makefile}: install recipe line not understood: {line!r}")
    scripts = {}
    for script in SCRIPT_NAMES:
        lines = blocks.get(f"{pkg}/{script}")
        if lines is not None:
            body = [_unescape(ln, makefile=makefile, where=script) for ln in lines]
            scripts[script] = "\n".join(body) + "\n"
    for conf in conffiles:
        if conf not in {f.dest for f in files}:
            raise IpkError(f"{makefile}: conffile {conf} is not installed by the recipe")
    return PackageSpec(
        directory=directory,
        name=name,
        version=f"{top['PKG_VERSION']}-{top['PKG_RELEASE']}",
        license=top["PKG_LICENSE"],
        maintainer=top.get("PKG_MAINTAINER", "unknown"),
        fields=fields,
        description=description,
        conffiles=conffiles,
        dirs=tuple(dirs),
        files=tuple(files),
        scripts=scripts,
    )


def _tar_gz(members: list[tuple[str, bytes | None, int]], *, mtime: int) -> bytes:
    """A deterministic tar.gz: root-owned, fixed mtime; ``None`` data = directory."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data, mode in members:
            info = tarfile.TarInfo(name)
            info.mtime = mtime
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mode = mode
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=mtime)


def _ar(members: list[tuple[str, bytes]], *, mtime: int) -> bytes:
    out = io.BytesIO()
    out.write(b"!<arch>\n")
    for name, data in members:
        header = f"{name + '/':<16}{mtime:<12}{0:<6}{0:<6}{0o100644:<8o}{len(data):<10}`\n"
        out.write(header.encode("ascii"))
        out.write(data)
        if len(data) % 2:
            out.write(b"\n")
    return out.getvalue()


def build_ipk(
    spec: PackageSpec,
    *,
    overrides: Mapping[str, bytes] | None = None,
    outer: Literal["tar", "ar"] = "tar",
    mtime: int = 0,
) -> bytes:
    """The .ipk bytes. ``overrides`` replaces installed files' content by destination
    path (e.g. a rendered ``/etc/config/routerctl``)."""
    overrides = dict(overrides or {})
    unknown = set(overrides) - {f.dest for f in spec.files}
    if unknown:
        raise IpkError(f"override for a file the package does not install: {sorted(unknown)}")
    data_members: list[tuple[str, bytes | None, int]] = []
    seen_dirs: set[str] = set()

    def add_dir(path: str) -> None:
        parts = PurePosixPath(path).parts[1:]
        for i in range(1, len(parts) + 1):
            d = "./" + "/".join(parts[:i]) + "/"
            if d not in seen_dirs:
                seen_dirs.add(d)
                data_members.append((d, None, 0o755))

    data_members.append(("./", None, 0o755))
    size = 0
    for d in spec.dirs:
        add_dir(d)
    for f in spec.files:
        add_dir(str(PurePosixPath(f.dest).parent))
        content = overrides.get(f.dest)
        if content is None:
            content = (spec.directory / f.source).read_bytes()
        size += len(content)
        data_members.append(("." + f.dest, content, f.mode))
    control_members: list[tuple[str, bytes | None, int]] = [
        ("./", None, 0o755),
        ("./control", spec.control(size).encode(), 0o644),
    ]
    if spec.conffiles:
        control_members.append(("./conffiles", ("\n".join(spec.conffiles) + "\n").encode(), 0o644))
    for script in SCRIPT_NAMES:
        if script in spec.scripts:
            control_members.append((f"./{script}", spec.scripts[script].encode(), 0o755))
    debian_binary = b"2.0\n"
    control_tgz = _tar_gz(control_members, mtime=mtime)
    data_tgz = _tar_gz(data_members, mtime=mtime)
    if outer == "ar":
        return _ar(
            [
                ("debian-binary", debian_binary),
                ("control.tar.gz", control_tgz),
                ("data.tar.gz", data_tgz),
            ],
            mtime=mtime,
        )
    return _tar_gz(
        [
            ("./debian-binary", debian_binary, 0o644),
            ("./data.tar.gz", data_tgz, 0o644),
            ("./control.tar.gz", control_tgz, 0o644),
        ],
        mtime=mtime,
    )
