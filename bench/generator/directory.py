"""The local directory file (CONTRACT.md's CSV), with the accounts of other
establishments streamed after the establishment's own."""

from __future__ import annotations

import csv
import itertools
import random
from datetime import date
from pathlib import Path

from bench.generator.cases import _Establishment
from bench.generator.names import (
    _FIRST,
    _SURNAME,
    ADULT_FIRST_NAMES,
    IDPN_ALPHABET,
    STUDENT_FIRST_NAMES,
    SURNAMES,
    TAIL_ENDS,
    TAIL_MIDDLES,
    TAIL_STARTS,
    _dmy,
    _iso,
    _login_part,
    _Weighted,
    uai_check_letter,
)
from bench.generator.people import CATEGORIES
from core.model import DIRECTORY_FIELDS

# The columns of the file, in order: CONTRACT.md's, as the application reads them.
CSV_HEADER = DIRECTORY_FIELDS


def _write_directory(path: Path, school: _Establishment, others: int, seed: int) -> int:
    accounts = [
        h.account
        for slug in CATEGORIES
        for h in school.humans[slug] + [d for d in school.departed if d.category == slug]
        if h.account is not None
    ]
    accounts.sort(key=lambda a: a.login)
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, delimiter=";", lineterminator="\n")
        writer.writerow(CSV_HEADER)
        writer.writerows(a.row() for a in accounts)
        if others:
            _write_other_accounts(writer, others, seed, school)
    return len(accounts)


_OTHER_CATEGORY = _Weighted(
    (("family", 517), ("enseignants", 43), ("personnels", 15), ("mds", 3), ("ins", 2))
)
_STAFF_PROFILES = _Weighted(
    (
        ("National_DIR", 3),
        ("National_DOC", 1),
        ("National_EVS", 6),
        ("National_ETA", 2),
        ("National_COL", 3),
    )
)
_OTHER_CLASSES = tuple(f"{lvl}{x}" for lvl in "6543" for x in "ABCDE") + tuple(
    f"{lvl}{n}" for lvl in ("2NDE", "1G", "TG") for n in "12345"
)


def _write_other_accounts(writer, count: int, seed: int, school: _Establishment) -> None:
    """`count` accounts of other establishments, written in chunks as they are drawn."""
    rng = random.Random(f"datagen-other-establishments-{seed}")
    pool: list[str] = []
    taken = {school.uai}
    departments = [school.uai[:3]] + [f"0{rng.randint(1, 95):02d}" for _ in range(4)]
    while len(pool) < max(1, count // 800):
        digits = rng.choice(departments) + f"{rng.randrange(10000):04d}"
        uai = digits + uai_check_letter(digits)
        if uai not in taken:
            taken.add(uai)
            pool.append(uai)
    parts = {name: _login_part(name) for name, _ in SURNAMES}
    for start, middle, end in itertools.product(TAIL_STARTS, TAIL_MIDDLES, TAIL_ENDS):
        parts[start + middle + end] = (start + middle + end).lower()
    for names in (STUDENT_FIRST_NAMES, ADULT_FIRST_NAMES):
        for pairs in names.values():
            parts.update((name, _login_part(name)) for name, _ in pairs)
    dates: dict[int, tuple[str, str]] = {}
    young_start = date(school.year - 18, 1, 1).toordinal()
    adult_start = date(school.year - 65, 1, 1).toordinal()
    random_ = rng.random
    choices = rng.choices
    randrange = rng.randrange
    surname_pick, first = _SURNAME.pick, _FIRST
    seq = 1000
    written = 0
    rows: list[tuple[str, ...]] = []

    def person(generation: str, surname: str | None, start: int, span: int, profile: str, uai):
        nonlocal seq
        sex = "F" if random_() < 0.5 else "M"
        first_name = first[generation, sex].pick(rng)
        surname = surname or surname_pick(rng)
        login = f"{parts[first_name]}.{parts[surname]}{seq}"
        seq += 1
        ordinal = start + randrange(span)
        text = dates.get(ordinal)
        if text is None:
            day = date.fromordinal(ordinal)
            text = dates[ordinal] = (_iso(day), _dmy(day))
        birth = text[0] if random_() < 0.9 else text[1]
        linked = f"{uai}${''.join(choices(IDPN_ALPHABET, k=16))}" if random_() < 0.3 else ""
        return [login, surname, first_name, birth, profile, uai, "", "", linked]

    while written < count:
        uai = pool[randrange(len(pool))]
        kind = _OTHER_CATEGORY.pick(rng)
        if kind == "family":
            surname = surname_pick(rng)
            draw = random_()
            children = []
            for _ in range(1 if draw < 0.87 else (2 if draw < 0.985 else 3)):
                row = person("young", surname, young_start, 8 * 365, "National_ELV", uai)
                row[6] = _OTHER_CLASSES[randrange(len(_OTHER_CLASSES))]
                children.append(row)
            unit = list(children)
            logins = "|".join(c[0] for c in children)
            for _ in range(1 if random_() < 0.1 else 2):
                row = person("adult", None, adult_start, 40 * 365, "National_TUT", uai)
                if random_() < 0.7:
                    row[3] = ""
                row[7] = logins
                unit.append(row)
        elif kind == "enseignants":
            unit = [person("adult", None, adult_start, 42 * 365, "National_ENS", uai)]
        elif kind == "personnels":
            unit = [person("adult", None, adult_start, 42 * 365, _STAFF_PROFILES.pick(rng), uai)]
        else:
            profile = "National_MDS" if kind == "mds" else "National_INS"
            unit = [person("adult", None, adult_start, 40 * 365, profile, uai)]
            unit[0][3] = ""
        unit = unit[: count - written]
        rows += unit
        written += len(unit)
        if len(rows) >= 20_000:
            writer.writerows(rows)
            rows.clear()
    writer.writerows(rows)
