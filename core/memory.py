"""Manual decisions remembered between imports (identifier -> login, per establishment).

An admin who linked an account by hand once should not have to do it again
at the next export: the link is recognised automatically under the rule
`remembered`. The store is a small JSON file per establishment, written
atomically, 0600 (it names people), and any entry can be forgotten.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from core.errors import IdpronoteError
from core.i18n import t
from core.journal import now, operator, private_dir


class DecisionMemory:
    """The remembered manual links of one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "memory"

    def _path(self, uai: str) -> Path:
        return self.root / f"{uai.upper()}.json"

    def entries(self, uai: str) -> dict[str, dict[str, Any]]:
        path = self._path(uai)
        if not path.exists():
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise IdpronoteError(t("memory.unreadable", path=path, error=error)) from None
        return data if isinstance(data, dict) else {}

    def links(self, uai: str) -> dict[str, str]:
        """identifier -> login, what matching takes as `remembered`."""
        return {
            idpn: entry["login"]
            for idpn, entry in self.entries(uai).items()
            if isinstance(entry, dict) and entry.get("login")
        }

    def remember(self, uai: str, links: dict[str, str], session: str | None = None) -> None:
        if not links:
            return
        entries = self.entries(uai)
        who = operator()["user"]
        for idpn, login in links.items():
            entries[idpn] = {"login": login, "at": now(), "by": who, "session": session}
        self._write(uai, entries)

    def forget(self, uai: str, idpn: str) -> bool:
        entries = self.entries(uai)
        if entries.pop(idpn, None) is None:
            return False
        self._write(uai, entries)
        return True

    def _write(self, uai: str, entries: dict[str, Any]) -> None:
        folder = private_dir(self.root)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".memory-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(entries, handle, ensure_ascii=False, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self._path(uai))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
