"""What a batch imports: the establishments' files, from a folder or a manifest.

A folder gives its `*.xml` files, each with the UAI its name carries, if
one; a manifest gives `UAI;FILE` lines, every UAI checked against the
pattern before any path is built (core/batch.py runs them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from core.errors import UnusableInput
from core.i18n import t
from core.model import UAI_PATTERN
from core.private_files import uai_part
from core.text import printable

__all__ = ["BatchEntry", "entries_in", "read_manifest", "uai_in_name"]

# A UAI in a file name: 7 digits and a letter, not inside a longer word or number.
_UAI_IN_NAME = re.compile(r"(?<![0-9A-Za-z])([0-9]{7}[A-Za-z])(?![0-9A-Za-z])")
_SEPARATOR = re.compile(r"[;,\t]")


@dataclass(frozen=True)
class BatchEntry:
    """One establishment's file; `uai` what the manifest or the file's name says (or None)."""

    file: Path
    uai: str | None
    where: str  # "manifest.csv:3", or the file's name: for messages

    @property
    def key(self) -> str:
        """Unique in a batch, the same at its resume: a manifest's UAIs and a folder's
        files are each named once."""
        return f"{self.uai or ''}:{self.file}"


def uai_in_name(name: str) -> str | None:
    """The UAI a file's name carries (`0441234A.xml`, `export-0441234a.xml`), if exactly one."""
    found = {m.upper() for m in _UAI_IN_NAME.findall(Path(name).stem)}
    return uai_part(found.pop()) if len(found) == 1 else None


def entries_in(folder: Path) -> list[BatchEntry]:
    """Every `*.xml` file of `folder` (not its sub-folders, not hidden files), by name."""
    folder = Path(folder).absolute()  # the same keys however the folder is named
    if not folder.is_dir():
        raise UnusableInput(t("batch.no_folder", path=folder))
    files = sorted(
        p
        for p in folder.iterdir()
        if p.suffix.lower() == ".xml" and not p.name.startswith(".") and p.is_file()
    )
    if not files:
        raise UnusableInput(t("batch.empty_folder", path=folder))
    return [BatchEntry(p, uai_in_name(p.name), p.name) for p in files]


def read_manifest(path: Path) -> list[BatchEntry]:
    """`UAI;FILE` lines (`,` or a tab also separate; `#` comments, blank lines, and a first
    line `uai;…` are skipped); a relative FILE is beside the manifest.

    Every UAI is checked against the pattern before any path is built, and
    the whole manifest is refused, with its line, if one is not a UAI.
    """
    path = Path(path).absolute()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UnusableInput(t("batch.no_manifest", path=path)) from None
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or error
        raise UnusableInput(t("batch.manifest_unreadable", path=path, error=reason)) from None
    entries: list[BatchEntry] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = _SEPARATOR.split(line, maxsplit=1)
        code = parts[0].strip()
        if not entries and not seen and code.casefold() == "uai":
            seen[""] = number  # a header line
            continue
        if len(parts) != 2 or not parts[1].strip():
            raise UnusableInput(t("batch.manifest_line", path=path, line=number))
        if not UAI_PATTERN.fullmatch(code.upper()):
            raise UnusableInput(
                t("batch.manifest_bad_uai", path=path, line=number, value=printable(repr(code)))
            )
        uai = uai_part(code.upper())
        if uai in seen:
            raise UnusableInput(
                t("batch.manifest_twice", path=path, line=number, uai=uai, first=seen[uai])
            )
        seen[uai] = number
        file = Path(parts[1].strip()).expanduser()
        if not file.is_absolute():
            file = path.parent / file
        entries.append(BatchEntry(file, uai, f"{path.name}:{number}"))
    if not entries:
        raise UnusableInput(t("batch.manifest_empty", path=path))
    return entries
