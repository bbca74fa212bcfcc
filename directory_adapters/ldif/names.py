"""Names in an LDIF export: DNs as LDAP compares them, and the person filter as a predicate."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping

from core.errors import ConfigError
from core.i18n import register, t

register(
    {
        "dir.ldif.filter.expected_paren": (
            "filtre des personnes {text!r} : '(' attendu en position {position}",
            "person filter {text!r}: expected '(' at {position}",
        ),
        "dir.ldif.filter.unbalanced": (
            "filtre des personnes {text!r} : parenthèses déséquilibrées en position {position}",
            "person filter {text!r}: unbalanced at {position}",
        ),
        "dir.ldif.filter.only_equality": (
            "filtre des personnes {text!r} : seules l'égalité et la présence sont prises en charge",
            "person filter {text!r}: only equality and presence are supported",
        ),
        "dir.ldif.filter.no_substring": (
            "filtre des personnes {text!r} : les filtres de sous-chaîne ne sont pas pris en charge",
            "person filter {text!r}: substring filters are not supported",
        ),
        "dir.ldif.filter.trailing": (
            "filtre des personnes {text!r} : texte inattendu en position {position}",
            "person filter {text!r}: unexpected text at {position}",
        ),
    }
)

_DN_ESCAPES = re.compile(r"((?:\\[0-9A-Fa-f]{2})+)|\\(.)", re.DOTALL)


def _parse_filter(text: str) -> tuple[Callable[[Mapping[str, list[str]]], bool], set[str]]:
    """An LDAP filter of `&`, `|`, `!`, equality and presence, as a predicate on an entry.

    Returns the predicate and the (lower-case) attributes it reads. Values
    compare case-insensitively, as objectClass does on a server.
    """
    attributes: set[str] = set()

    def parse(position: int) -> tuple[Callable[[Mapping[str, list[str]]], bool], int]:
        if not text.startswith("(", position):
            raise ConfigError(t("dir.ldif.filter.expected_paren", text=text, position=position))
        operator = text[position + 1 : position + 2]
        if operator in ("&", "|", "!"):
            parts = []
            position += 2
            while text.startswith("(", position):
                part, position = parse(position)
                parts.append(part)
            if not text.startswith(")", position) or not parts:
                raise ConfigError(t("dir.ldif.filter.unbalanced", text=text, position=position))
            if operator == "&":
                return (lambda e: all(p(e) for p in parts)), position + 1
            if operator == "|":
                return (lambda e: any(p(e) for p in parts)), position + 1
            return (lambda e: not parts[0](e)), position + 1
        close = text.find(")", position)
        attribute, equals, value = text[position + 1 : close].partition("=")
        if close < 0 or not equals or attribute[-1:] in "~<>:" or "(" in value:
            raise ConfigError(t("dir.ldif.filter.only_equality", text=text))
        name = attribute.strip().lower()
        attributes.add(name)
        if value == "*":
            return (lambda e: bool(e.get(name))), close + 1
        if "*" in value:
            raise ConfigError(t("dir.ldif.filter.no_substring", text=text))
        wanted = _unescape_dn(value).casefold()
        return (lambda e: any(v.casefold() == wanted for v in e.get(name, ()))), close + 1

    predicate, end = parse(0)
    if end != len(text):
        raise ConfigError(t("dir.ldif.filter.trailing", text=text, position=end))
    return predicate, attributes


def _split_unescaped(text: str, separator: str) -> list[str]:
    parts, start, escaped = [], 0, False
    for position, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == separator:
            parts.append(text[start:position])
            start = position + 1
    parts.append(text[start:])
    return parts


def _unescape_dn(value: str) -> str:
    def one(match: re.Match[str]) -> str:
        if match.group(1):
            return bytes.fromhex(match.group(1).replace("\\", "")).decode("utf-8", "replace")
        return match.group(2)

    return _DN_ESCAPES.sub(one, value)


def _dn_key(dn: str) -> str:
    """A DN as LDAP compares it for these: attribute types and values ignore case and spaces.

    `OU=Etab1, DC=Example` and `ou=etab1,dc=example` give one key. A string,
    not a tuple of tuples: a large export keeps one per entry while loading.
    """
    if "\\" not in dn and "+" not in dn:  # the common case, without escapes: fast
        return ",".join(
            f"{attribute.strip().lower()}={value.strip().casefold()}"
            for attribute, _, value in (rdn.partition("=") for rdn in dn.strip().split(","))
        )
    rdns = []
    for rdn in _split_unescaped(dn.strip(), ","):
        avas = []
        for ava in _split_unescaped(rdn, "+"):
            attribute, _, value = ava.partition("=")
            value = _unescape_dn(value.strip()).casefold()
            # escaped again, so that the separators of the key stay unambiguous
            value = re.sub(r"([\\,+])", r"\\\1", value)
            avas.append(f"{attribute.strip().lower()}={value}")
        rdns.append("+".join(sorted(avas)))
    return ",".join(rdns)


# Structure DNs come back on every person: a small cache spares re-splitting them.
_dn_key_cached = functools.lru_cache(maxsize=1 << 12)(_dn_key)
