"""How an identifier is stored in the directory attribute (CONTRACT.md).

The attribute is multi-valued and shared: other establishments, other tools
and other forms live in it. A form such as `{uai}${idpn}` says which values
idpronote owns for an establishment; writing touches only those.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from core.model import ChangeKind, IdentifierChange

DEFAULT_FORM = "{uai}${idpn}"
_PLACEHOLDER = re.compile(r"\{(uai|idpn)\}")


class InvalidForm(ValueError):
    pass


@dataclass(frozen=True)
class IdentifierForm:
    template: str = DEFAULT_FORM

    def __post_init__(self) -> None:
        names = _PLACEHOLDER.findall(self.template)
        if names.count("idpn") != 1 or names.count("uai") > 1:
            raise InvalidForm(
                f"identifier value form {self.template!r} must contain {{idpn}} once "
                'and {uai} at most once, e.g. "{uai}${idpn}" or "PRONOTE${idpn}"'
            )
        leftover = _PLACEHOLDER.sub("", self.template)
        if "{" in leftover or "}" in leftover:
            raise InvalidForm(
                f"identifier value form {self.template!r}: only {{uai}} and {{idpn}} "
                "may appear between braces"
            )
        parts = []
        for piece in re.split(r"(\{uai\}|\{idpn\})", self.template):
            if piece == "{uai}":
                parts.append(r"(?P<uai>[0-9]{7}[A-Za-z])")
            elif piece == "{idpn}":
                parts.append(r"(?P<idpn>[A-Z0-9]{16})")
            else:
                parts.append(re.escape(piece))
        object.__setattr__(self, "_regex", re.compile("".join(parts)))

    @property
    def per_establishment(self) -> bool:
        """False for forms without {uai}: one value serves every establishment."""
        return "{uai}" in self.template

    def format(self, uai: str, idpn: str) -> str:
        return self.template.replace("{uai}", uai).replace("{idpn}", idpn)

    def parse(self, value: str) -> tuple[str | None, str] | None:
        """(uai or None, idpn) for a value of this form, None for anything else."""
        match = self._regex.fullmatch(value)  # type: ignore[attr-defined]
        if match is None:
            return None
        uai = match.groupdict().get("uai")
        return (uai.upper() if uai else None, match["idpn"])

    def owns(self, value: str, uai: str) -> bool:
        """Is this value the one idpronote manages for that establishment?"""
        parsed = self.parse(value)
        if parsed is None:
            return False
        stored_uai, _ = parsed
        return stored_uai is None or stored_uai == uai.upper()

    def idpns_for(self, values: Iterable[str], uai: str) -> list[str]:
        """The identifiers stored for an establishment (normally zero or one)."""
        found = []
        for value in values:
            if self.owns(value, uai):
                found.append(self.parse(value)[1])  # type: ignore[index]
        return found

    def apply(self, values: Iterable[str], change: IdentifierChange) -> tuple[str, ...]:
        """The attribute's values after `change`: only this establishment's values move."""
        kept = [v for v in values if not self.owns(v, change.uai)]
        if change.kind is not ChangeKind.REMOVE and change.idpn is not None:
            kept.append(self.format(change.uai.upper(), change.idpn))
        return tuple(kept)
