"""From LDAP attributes to a `DirectoryAccount`: the presets and the attribute mapping.

The LDAP adapter and the LDIF file read entries the same way: a DN and a
dictionary of attribute values. This module turns one into a
`DirectoryAccount` through the mapping that `config.toml` chose (a preset,
then `[directory.fields]` and `[directory.identifier]` overrides), so both
adapters agree on every field by construction.

Attribute names are compared case-insensitively, as LDAP does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from core.errors import ConfigError
from core.i18n import register, t
from core.identifier_form import IdentifierForm, InvalidForm
from core.model import DIRECTORY_FIELDS, DirectoryAccount
from core.names import InvalidDate, parse_date
from core.text import printable

register(
    {
        "dir.mapping.unknown_preset": (
            "préréglage d'annuaire {preset!r} inconnu ; possibles : {presets}",
            "unknown directory preset {preset!r}; expected one of {presets}",
        ),
        "dir.mapping.field_required": (
            "[directory.fields] {field} doit nommer un attribut",
            "[directory.fields] {field} must name an attribute",
        ),
        "dir.mapping.no_value": ("aucune valeur pour {attribute}", "no {attribute} value"),
    }
)

__all__ = [
    "PRESETS",
    "AttributeMapping",
    "Preset",
    "dn_first_value",
    "is_dn",
]


@dataclass(frozen=True)
class Preset:
    """A site schema idpronote knows: where each field lives, how identifiers are stored."""

    name: str
    # DIRECTORY_FIELDS -> attribute name ("" when the schema has no such attribute).
    fields: Mapping[str, str]
    # The LDAP filter that selects person entries.
    person_filter: str
    identifier_attribute: str
    value_form: str
    # Auxiliary class added to an entry that lacks it before the first write.
    object_class: str = ""
    # On a structure entry named by the `uai` attribute (a DN): the attribute with its UAI.
    structure_uai: str = "ENTStructureUAI"
    # Index recommendations for OpenLDAP (docs and the test server use them).
    indexes: tuple[str, ...] = ()


_ENT_FIELDS = {
    "login": "uid",
    "nom": "sn",
    "prenom": "givenName",
    "date_naissance": "ENTPersonDateNaissance",
    "profil": "ENTPersonProfils",
    "uai": "ENTPersonStructRattach",
    "classes": "ENTEleveClasses",
    "eleves": "ENTAuxPersRelEleveEleve",
}

PRESETS: dict[str, Preset] = {
    # The French ENT schema (SDET): ENTPerson classes, the project's idPronote
    # attribute added through its auxiliary class.
    "ent": Preset(
        name="ent",
        fields=_ENT_FIELDS,
        person_filter="(objectClass=ENTPerson)",
        identifier_attribute="idPronote",
        value_form="{uai}${idpn}",
        object_class="entPronoteAccount",
        indexes=(
            "objectClass eq",
            "uid eq,sub",
            "sn eq,sub",
            "givenName eq,sub",
            "ENTPersonStructRattach eq",
            "ENTPersonProfils eq",
            "idPronote eq",
        ),
    ),
    # A plain inetOrgPerson directory with the project's own schema
    # (directory_adapters/schema/idpronote.schema) for the identifiers.
    "inetorgperson": Preset(
        name="inetorgperson",
        fields={
            "login": "uid",
            "nom": "sn",
            "prenom": "givenName",
            "date_naissance": "",
            "profil": "employeeType",
            "uai": "departmentNumber",
            "classes": "ou",
            "eleves": "seeAlso",
        },
        person_filter="(objectClass=inetOrgPerson)",
        identifier_attribute="idPronote",
        value_form="{uai}${idpn}",
        object_class="entPronoteAccount",
        indexes=(
            "objectClass eq",
            "uid eq,sub",
            "sn eq,sub",
            "givenName eq,sub",
            "departmentNumber eq",
            "employeeType eq",
            "idPronote eq",
        ),
    ),
    # ESCO-style directories (Recia and the like): the identifier lives among
    # the person's external identifiers as PRONOTE$<idpn>.
    "esco": Preset(
        name="esco",
        fields={**_ENT_FIELDS, "uai": "ESCOUAI"},
        person_filter="(objectClass=ENTPerson)",
        identifier_attribute="ESCOPersonExternalIds",
        value_form="PRONOTE${idpn}",
        object_class="",
        indexes=(
            "objectClass eq",
            "uid eq,sub",
            "sn eq,sub",
            "givenName eq,sub",
            "ESCOUAI eq",
            "ENTPersonProfils eq",
            "ESCOPersonExternalIds eq",
        ),
    ),
}


def is_dn(value: str) -> bool:
    """Does this value look like a distinguished name rather than a login or a UAI?"""
    head, sep, _ = value.partition("=")
    return bool(sep) and head.strip().replace("-", "").replace(".", "").isalnum()


def dn_first_value(dn: str) -> tuple[str, str] | None:
    """(attribute, value) of a DN's first RDN, unescaped; None if it is not simple."""
    first = _split_rdn(dn)
    if first is None or "+" in first:
        return None
    attribute, sep, value = first.partition("=")
    if not sep:
        return None
    return attribute.strip(), _unescape(value.strip())


def _split_rdn(dn: str) -> str | None:
    escaped = False
    for i, char in enumerate(dn):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            return dn[:i]
    return dn or None


def _unescape(value: str) -> str:
    out: list[str] = []
    raw = bytearray()
    i = 0
    while i < len(value):
        char = value[i]
        if char == "\\" and i + 1 < len(value):
            pair = value[i + 1 : i + 3]
            if len(pair) == 2 and all(c in "0123456789abcdefABCDEF" for c in pair):
                raw.append(int(pair, 16))
                i += 3
                continue
            if raw:
                out.append(raw.decode("utf-8", "replace"))
                raw.clear()
            out.append(value[i + 1])
            i += 2
            continue
        if raw:
            out.append(raw.decode("utf-8", "replace"))
            raw.clear()
        out.append(char)
        i += 1
    if raw:
        out.append(raw.decode("utf-8", "replace"))
    return "".join(out)


@dataclass(frozen=True)
class AttributeMapping:
    """The effective mapping: field -> attribute, the identifier attribute and its form."""

    preset: Preset
    fields: Mapping[str, str]
    identifier_attribute: str
    form: IdentifierForm
    object_class: str
    person_filter: str
    _lower: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        lower = {name: attr.lower() for name, attr in self.fields.items() if attr}
        lower["idpronote"] = self.identifier_attribute.lower()
        object.__setattr__(self, "_lower", lower)

    @classmethod
    def build(
        cls,
        preset: str = "ent",
        fields: Mapping[str, str] | None = None,
        identifier_attribute: str | None = None,
        value_form: str | None = None,
        object_class: str | None = None,
    ) -> AttributeMapping:
        """A preset with the site's overrides; None means "as the preset says"."""
        try:
            base = PRESETS[preset]
        except KeyError:
            raise ConfigError(
                t("dir.mapping.unknown_preset", preset=preset, presets=", ".join(PRESETS))
            ) from None
        merged = {
            name: base.fields.get(name, "") for name in DIRECTORY_FIELDS if name != "idpronote"
        }
        for name, attribute in (fields or {}).items():
            if name == "idpronote":
                identifier_attribute = identifier_attribute or attribute
            elif name in merged:
                merged[name] = attribute
        for required in ("login", "nom", "prenom"):
            if not merged[required]:
                raise ConfigError(t("dir.mapping.field_required", field=required))
        try:
            form = IdentifierForm(value_form or base.value_form)
        except InvalidForm as error:
            raise ConfigError(str(error)) from None
        return cls(
            preset=base,
            fields=merged,
            identifier_attribute=identifier_attribute or base.identifier_attribute,
            form=form,
            object_class=base.object_class if object_class is None else object_class,
            person_filter=base.person_filter,
        )

    @classmethod
    def from_settings(cls, settings: object) -> AttributeMapping:
        """From `core.config.DirectoryConfig`."""
        return cls.build(
            preset=getattr(settings, "preset", "ent"),
            fields=getattr(settings, "fields", None),
            identifier_attribute=getattr(settings, "identifier_attribute", None),
            value_form=getattr(settings, "value_form", None),
            object_class=getattr(settings, "object_class", None),
        )

    def attribute(self, name: str) -> str:
        """The attribute of a field ("" when unmapped)."""
        if name == "idpronote":
            return self.identifier_attribute
        return self.fields.get(name, "")

    def attributes(self) -> list[str]:
        """Every attribute to request from the server: nothing more is read."""
        wanted = [attr for attr in self.fields.values() if attr]
        wanted.append(self.identifier_attribute)
        seen: set[str] = set()
        result = []
        for attr in wanted:
            if attr.lower() not in seen:
                seen.add(attr.lower())
                result.append(attr)
        return result

    def values(self, entry: Mapping[str, Sequence[str]], name: str) -> tuple[str, ...]:
        """A field's values from an entry whose keys are attribute names (any case)."""
        attr = self._lower.get(name)
        if not attr:
            return ()
        raw = entry.get(attr)
        if raw is None:
            for key, value in entry.items():
                if key.lower() == attr:
                    raw = value
                    break
        if raw is None:
            return ()
        if isinstance(raw, str | bytes):
            raw = [raw]
        return tuple(_text(v) for v in raw if _text(v).strip())

    def to_account(
        self,
        dn: str | None,
        entry: Mapping[str, Sequence[str]],
        *,
        structure_uai: Callable[[str], str | None] = lambda dn: None,
        student_login: Callable[[str], str | None] | None = None,
    ) -> tuple[DirectoryAccount | None, str | None]:
        """(account, None), or (None, why the entry cannot be used).

        `structure_uai` resolves a structure DN to its UAI; `student_login`
        resolves a student's DN to its login (by default from the DN's own
        RDN when it is the login attribute).
        """
        logins = self.values(entry, "login")
        if not logins:
            return None, t("dir.mapping.no_value", attribute=self.attribute("login"))
        surname = next(iter(self.values(entry, "nom")), "")
        first_name = next(iter(self.values(entry, "prenom")), "")
        if not surname:
            return None, t("dir.mapping.no_value", attribute=self.attribute("nom"))
        birth = None
        raw_date = next(iter(self.values(entry, "date_naissance")), None)
        if raw_date:
            try:
                birth = parse_date(raw_date)
            except InvalidDate:
                birth = None  # unusable dates are treated as absent: never evidence
        establishments: list[str] = []
        for value in self.values(entry, "uai"):
            uai = structure_uai(value) if is_dn(value) else value.strip().upper()
            if uai and uai not in establishments:
                establishments.append(uai)
        students: list[str] = []
        for value in self.values(entry, "eleves"):
            login = self._student(value, student_login)
            if login and login not in students:
                students.append(login)
        account = DirectoryAccount(
            login=logins[0].strip(),
            surname=printable(surname.strip()),
            first_name=printable(first_name.strip()),
            dn=dn,
            birth_date=birth,
            profiles=self.values(entry, "profil"),
            establishments=tuple(establishments),
            classes=self.values(entry, "classes"),
            students=tuple(students),
            identifiers=self.values(entry, "idpronote"),
        )
        return account, None

    def _student(self, value: str, resolve: Callable[[str], str | None] | None) -> str | None:
        if not is_dn(value):
            return value.strip()
        first = dn_first_value(value)
        if first is not None and first[0].lower() == self.attribute("login").lower():
            return first[1]
        return resolve(value) if resolve is not None else None


def _text(value: str | bytes) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def unique(values: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for value in values:
        if value not in seen:
            seen.add(value)
            out.append(value)
    return out
