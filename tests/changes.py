"""The changes and listings every directory test writes: said once, for all kinds.

The establishment is the fixtures' (`UAI` of tests/ldap/conftest.py and of the
files' tests).
"""

from __future__ import annotations

from core.model import ChangeKind, DirectoryAccount, IdentifierChange

UAI = "0441234A"


def logins(accounts: list[DirectoryAccount]) -> list[str]:
    return [account.login for account in accounts]


def add(login: str, idpn: str, uai: str = UAI, previous: str | None = None) -> IdentifierChange:
    """An identifier given to `login` (replacing `previous`, when one is named)."""
    kind = ChangeKind.ADD if previous is None else ChangeKind.REPLACE
    return IdentifierChange(login, uai, kind, idpn=idpn, previous=previous)


def remove(login: str, previous: str, uai: str = UAI) -> IdentifierChange:
    return IdentifierChange(login, uai, ChangeKind.REMOVE, previous=previous)
