"""From the file's raw records to accounts: the checks every record passes to load.

Both forms of the file (the reference form, core/pronote_file.py, and the
timetable export, core/timetable_export.py) are walked into raw records;
`accounts_from` turns them into `PronoteAccount`s the same way: each record
checked on its own (field lengths, the identifier, names, the birth date),
then one identifier, one person (twins of one record collapse, different
people under one identifier load nothing), then each student's guardian
links kept only when they lead to exactly one loaded guardian. What is
skipped is reported with its line; the rest still loads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace

from core.model import Category, PronoteAccount, is_valid_idpn
from core.names import InvalidDate, normalise_name, parse_date
from core.text import has_unsafe_characters
from core.xml_records import FileProblem
from core.xml_records import RawRecord as _Raw

__all__ = ["MAX_FIELD_LENGTH", "accounts_from"]

MAX_FIELD_LENGTH = 200


def accounts_from(
    raws: Iterable[_Raw], problems: list[FileProblem], present: set[str] | None = None
) -> list[PronoteAccount]:
    """The accounts the records make, in file order; what could not load, in `problems`.

    `present`: guardian keys the file holds a record for, loaded or not (see
    `_link_guardians`)."""
    pairs = []
    for raw in raws:
        account = _account(raw, problems)
        if account is not None:
            pairs.append((raw, account))
    return _link_guardians(_drop_duplicates(pairs, problems), problems, present)


def _who(raw: _Raw) -> str:
    """How a record is named in messages: its names, else its file key."""
    fields = raw.fields
    name = " ".join(p for p in (fields.get("nom", ""), fields.get("prenom", "")) if p)
    return name or f"Ident={fields.get('ident', '?')}"


def _account(raw: _Raw, problems: list[FileProblem]) -> PronoteAccount | None:
    fields = raw.fields
    who = _who(raw)
    for key, value in fields.items():
        if len(value) > MAX_FIELD_LENGTH:
            problems.append(
                FileProblem(
                    raw.line,
                    "field_too_long",
                    {
                        "who": who[:60] + "…",
                        "field": key,
                        "length": len(value),
                        "limit": MAX_FIELD_LENGTH,
                    },
                )
            )
            return None
    idpn = fields.get("idpn", "")
    if not idpn:
        problems.append(FileProblem(raw.line, "missing_idpn", {"who": who}))
        return None
    if not is_valid_idpn(idpn):
        problems.append(FileProblem(raw.line, "invalid_idpn", {"who": who, "idpn": idpn}))
        return None
    for key in ("nom", "prenom", "classe", "cas_login", "ident"):
        if has_unsafe_characters(fields.get(key, "")):
            problems.append(FileProblem(raw.line, "control_characters", {"who": who, "field": key}))
    if not fields.get("nom") and not fields.get("prenom"):
        problems.append(FileProblem(raw.line, "missing_name", {"who": who}))
    birth = None
    if fields.get("date_naissance"):
        try:
            birth = parse_date(fields["date_naissance"])
        except InvalidDate:
            problems.append(
                FileProblem(
                    raw.line, "invalid_date", {"who": who, "value": fields["date_naissance"]}
                )
            )
    return PronoteAccount(
        idpn=idpn,
        category=raw.category,
        surname=fields.get("nom", ""),
        first_name=fields.get("prenom", ""),
        birth_date=birth,
        class_name=fields.get("classe") or None,
        cas_login=fields.get("cas_login") or None,
        file_key=fields.get("ident") or None,
        guardian_keys=(),
        other_fields=tuple(raw.other),
        line=raw.line,
    )


def _same_person(a: PronoteAccount, b: PronoteAccount) -> bool:
    return (
        a.category is b.category
        and normalise_name(a.surname) == normalise_name(b.surname)
        and normalise_name(a.first_name) == normalise_name(b.first_name)
        and a.birth_date == b.birth_date
    )


_OTHERS_NAMED = 3


def _drop_duplicates(
    accounts: list[tuple[_Raw, PronoteAccount]], problems: list[FileProblem]
) -> list[tuple[_Raw, PronoteAccount]]:
    """One identifier, one person: twins of one record collapse, clashes load nothing."""
    groups: dict[str, list[int]] = defaultdict(list)
    for index, (_, account) in enumerate(accounts):
        groups[account.idpn].append(index)
    dropped: set[int] = set()
    for idpn, indexes in groups.items():
        if len(indexes) == 1:
            continue
        first = accounts[indexes[0]][1]
        if all(_same_person(first, accounts[i][1]) for i in indexes[1:]):
            for i in indexes[1:]:
                dropped.add(i)
                account = accounts[i][1]
                problems.append(
                    FileProblem(
                        account.line,
                        "duplicate_idpn",
                        {"who": account.display_name, "idpn": idpn, "first": first.line},
                        message_key="duplicate_idpn_same",
                    )
                )
            continue
        # Different people under one identifier: linking either could hand one
        # person's Pronote account to the other. Nobody gets it automatically.
        # Each message names a few of the others, never all: 10,000 records under
        # one identifier would otherwise make 10,000 messages of 10,000 names.
        for i in indexes:
            dropped.add(i)
            account = accounts[i][1]
            named = [j for j in indexes[: _OTHERS_NAMED + 1] if j != i][:_OTHERS_NAMED]
            others = ", ".join(
                f"{accounts[j][1].display_name} (l. {accounts[j][1].line})" for j in named
            )
            if len(indexes) - 1 > len(named):
                others += f" (+{len(indexes) - 1 - len(named)})"
            problems.append(
                FileProblem(
                    account.line,
                    "duplicate_idpn",
                    {"who": account.display_name, "idpn": idpn, "others": others},
                    message_key="duplicate_idpn_conflict",
                )
            )
    return [pair for index, pair in enumerate(accounts) if index not in dropped]


def _link_guardians(
    loaded: list[tuple[_Raw, PronoteAccount]],
    problems: list[FileProblem],
    present: set[str] | None = None,
) -> list[PronoteAccount]:
    """Students' guardian keys that lead to one loaded guardian; the others reported.

    `present`: guardian keys the file holds a record for, loaded or not (the
    timetable export, where a link and its record are one element): a link to
    a record that failed its own checks is dropped without a second message.
    """
    guardian_lines: dict[str, list[int]] = defaultdict(list)
    for _, account in loaded:
        if account.category is Category.RESPONSABLES and account.file_key:
            guardian_lines[account.file_key].append(account.line)
    for key, lines in guardian_lines.items():
        for line in lines[1:]:
            problems.append(
                FileProblem(
                    line, "duplicate_ident", {"who": f"Ident={key}", "key": key, "first": lines[0]}
                )
            )
    result = []
    for raw, account in loaded:
        if raw.guardian_keys:
            keys = []
            for key, link_line in raw.guardian_keys:
                if len(guardian_lines.get(key, ())) == 1:
                    if key not in keys:
                        keys.append(key)
                elif key not in guardian_lines and (present is None or key not in present):
                    problems.append(
                        FileProblem(
                            link_line or account.line,
                            "unknown_guardian",
                            {"who": account.display_name, "key": key},
                        )
                    )
            account = replace(account, guardian_keys=tuple(keys))
        result.append(account)
    return result
