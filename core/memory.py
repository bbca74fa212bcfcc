"""Manual decisions remembered between imports (identifier -> login, per establishment).

An admin who linked an account by hand once should not have to do it again
at the next export: the link is recognised automatically under the rule
`remembered`. The store is a small JSON file per establishment, written
atomically, 0600 (it names people), and any entry can be forgotten.

Each entry also records whom the account was when the link was made (its
names and birth date): a login can change owner (reassigned to a namesake,
renamed after a merge), and matching takes a remembered link as evidence
only while the account is still that person (`core.matching`).
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
from core.model import DirectoryAccount, RememberedLink
from core.names import InvalidDate, parse_date


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

    def remembered(self, uai: str) -> dict[str, RememberedLink]:
        """identifier -> the link and whom the account was then (for matching)."""
        found = {}
        for idpn, entry in self.entries(uai).items():
            if not isinstance(entry, dict) or not entry.get("login"):
                continue
            birth = None
            if entry.get("date_naissance"):
                try:
                    birth = parse_date(str(entry["date_naissance"]))
                except InvalidDate:
                    birth = None
            found[idpn] = RememberedLink(
                str(entry["login"]),
                _text(entry.get("nom")),
                _text(entry.get("prenom")),
                birth,
            )
        return found

    def remember(
        self,
        uai: str,
        links: dict[str, str],
        session: str | None = None,
        accounts: dict[str, DirectoryAccount] | None = None,
    ) -> None:
        """Keep these manual links; `accounts` (login -> account) records whom each was."""
        if not links:
            return
        entries = self.entries(uai)
        who = operator()["user"]
        people = {login.casefold(): a for login, a in (accounts or {}).items()}
        for idpn, login in links.items():
            entry = {"login": login, "at": now(), "by": who, "session": session}
            account = people.get(login.casefold())
            if account is not None:
                entry["nom"] = account.surname
                entry["prenom"] = account.first_name
                born = account.birth_date
                entry["date_naissance"] = born.isoformat() if born else None
            entries[idpn] = entry
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


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
