"""Manual decisions remembered between imports (identifier -> login, per establishment).

An admin who linked an account by hand once should not have to do it again
at the next export: the link is recognised automatically under the rule
`remembered`. The store is a small JSON file per establishment, written
atomically, 0600 (it names people), and any entry can be forgotten.

Each entry also records whom the account was when the link was made (its
names and birth date): a login can change owner (reassigned to a namesake,
renamed after a merge), and matching takes a remembered link as evidence
only while the account is still that person (`core.matching`).

A remembered link is written to the directory without a human looking, so a
memory file is evidence only if this data directory wrote it. Each file is
signed: an HMAC-SHA256, under a key made for this data directory
(`memory/.signing-key`, 32 random bytes, created 0600 with `O_EXCL`), of the
establishment's code and its entries. A file that is not signed, signed
under another key (copied from another site or data directory), edited by
hand, or renamed to another establishment is refused with its path and the
fix, and nothing is imported until it is removed. Whoever can read the key
(this user, root) can forge a file: that is the account's protection, as for
the journals (docs/SECURITY.md, "Not covered"). Each entry also names the
session that wrote it, whose journal holds the write.

"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

from core.errors import IdpronoteError
from core.i18n import register, t
from core.journal import now, operator
from core.model import DirectoryAccount, RememberedLink
from core.names import InvalidDate, parse_date
from core.private_files import UnsafePath, open_private, private_dir, read_private, uai_part

register(
    {
        "memory.not_signed": (
            "{path} : liens mémorisés non signés par la clé de ce dossier de données (fichier "
            "déposé, copié d'ailleurs ou modifié à la main) ; refusé, rien n'est importé. "
            "Supprimez-le (rm {path}) et refaites ces liens à la main (idpronote link)",
            "{path}: remembered links not signed by this data directory's key (a file planted, "
            "copied from elsewhere or edited by hand); refused, nothing is imported. Remove it "
            "(rm {path}) and make those links again by hand (idpronote link)",
        ),
        "memory.bad_key": (
            "{key} n'est pas une clé de signature valide ; supprimez-la avec les fichiers de "
            "{folder} (rm -r {folder}) et refaites les liens à la main",
            "{key} is not a valid signing key; remove it with the files of {folder} "
            "(rm -r {folder}) and make the links again by hand",
        ),
    }
)

FORMAT = "idpronote-memory"
VERSION = 2
KEY_NAME = ".signing-key"
KEY_BYTES = 32


class DecisionMemory:
    """The remembered manual links of one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.root = self.data_dir / "memory"

    def _path(self, uai: str) -> Path:
        return self.root / f"{uai_part(uai.upper())}.json"

    @property
    def key_path(self) -> Path:
        return self.root / KEY_NAME

    # -- the key ---------------------------------------------------------------------------

    def _key(self, *, create: bool) -> bytes | None:
        try:
            key = read_private(self.key_path)
        except FileNotFoundError:
            if not create:
                return None
            return self._new_key()
        if len(key) != KEY_BYTES:
            raise UnsafePath(t("memory.bad_key", key=self.key_path, folder=self.root))
        return key

    def _new_key(self) -> bytes:
        """Made once per data directory; two processes racing get one key (link is atomic)."""
        folder = self._folder()
        key = secrets.token_bytes(KEY_BYTES)
        fd, staging = tempfile.mkstemp(dir=folder, prefix=".key-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(key)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(staging, self.key_path)  # fails if a key (or anything) is there
            except FileExistsError:
                key = self._key(create=False) or key
        finally:
            Path(staging).unlink(missing_ok=True)
        return key

    def _folder(self) -> Path:
        return private_dir(private_dir(self.data_dir, link_ok=True) / "memory")

    @staticmethod
    def _signature(key: bytes, uai: str, entries: dict[str, Any]) -> str:
        body = json.dumps(
            {"format": FORMAT, "uai": uai, "entries": entries},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=True,
        )
        return hmac.new(key, body.encode("ascii"), hashlib.sha256).hexdigest()

    # -- reading ---------------------------------------------------------------------------

    def entries(self, uai: str) -> dict[str, dict[str, Any]]:
        uai = uai.upper()
        path = self._path(uai)
        if not self.root.exists() and not self.root.is_symlink():
            return {}
        self._folder()
        try:
            raw = read_private(path)
        except FileNotFoundError:
            return {}
        except OSError as error:
            raise IdpronoteError(t("memory.unreadable", path=path, error=error)) from None
        try:
            data = json.loads(raw.decode("utf-8"))
        except ValueError as error:
            raise IdpronoteError(t("memory.unreadable", path=path, error=error)) from None
        key = self._key(create=False)
        signed = key is not None and (
            isinstance(data, dict)
            and data.get("format") == FORMAT
            and data.get("uai") == uai
            and isinstance(data.get("entries"), dict)
            and isinstance(data.get("hmac"), str)
            and hmac.compare_digest(data["hmac"], self._signature(key, uai, data["entries"]))
        )  # no key at all: nothing here was ever signed by this data directory
        if not signed:
            raise UnsafePath(t("memory.not_signed", path=path))
        return data["entries"]

    def links(self, uai: str) -> dict[str, str]:
        """identifier -> login, what matching takes as `remembered`."""
        return {
            idpn: entry["login"]
            for idpn, entry in self.entries(uai).items()
            if isinstance(entry, dict) and isinstance(entry.get("login"), str) and entry["login"]
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

    # -- writing ---------------------------------------------------------------------------

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
        uai = uai.upper()
        target = self._path(uai)
        folder = self._folder()
        key = self._key(create=True)
        document = {
            "format": FORMAT,
            "version": VERSION,
            "uai": uai,
            "entries": entries,
            "hmac": self._signature(key, uai, entries),
        }
        # mkstemp: O_EXCL, 0600, an unpredictable name; the rename never follows a link.
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".memory-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(document, handle, ensure_ascii=False, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            if target.exists() or target.is_symlink():
                # Another user's file or a link there is refused, not replaced in silence.
                os.close(open_private(target, os.O_RDONLY))
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                Path(tmp).unlink()
            raise


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
