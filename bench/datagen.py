"""Deterministic generator of realistic demo and benchmark data.

    .venv/bin/python bench/datagen.py OUT_DIR [--seed 1] [--students 600] [--other-accounts 0]

Writes, for one establishment (a collège), into OUT_DIR:

- ``identifiants.xml``: the identifiers file in FORMAT.md's reference form,
  pretty-printed one element per line, so that line numbers mean something;
- ``annuaire.csv``: the local directory file of CONTRACT.md (``;``, UTF-8,
  ``|`` between values, identifiers stored as ``{uai}${idpn}``);
- ``truth.json``: for every IDPN of the file, the directory login of the same
  person (or null) and the hard cases of that record (labels below); the
  directory accounts that are in no file record, with their labels; and
  ``obsolete``, the logins that store an identifier of this establishment
  that is not in the file while their person is not in the file either.

Everything comes from ``random.Random(seed)``: the same arguments give
byte-identical files. ``--other-accounts N`` appends N accounts of other
establishments to the CSV (streamed, for regional-scale benchmarks); they use
their own seeded generator, so the establishment's part does not change with N.

Sizes: students exactly as asked, teachers = students/14, staff = students/40
(the first five: principal, deputy, librarian, CPE, secretary), 3 internship
supervisors, 2 inspectors, guardians about 1.7 per student: families of 1
(87%), 2 (11.5%) or 3 (1.5%) children with 2 guardians (92%) or one, plus 5%
of the student count in guardians without a student in the file. Surnames:
22% from the weighted list of common ones below, the rest from a synthetic
long tail, so that homonyms happen at a believable rate. Logins are
``prenom.nom`` (no accents) from the directory's own spelling, with a number
from 2 on a clash; other establishments' logins end in a number >= 1000.

Hard cases (DOMAIN.md), their rates, and the label each record carries. A
rate is of the population named; every case appears at least once (``min 1``)
as long as there are people to carry it. Hard cases that change a record are
exclusive: a record carries at most one of them, and never ``cas_login`` or
``already_linked`` on top, so each stays as hard as it is meant to be (one
exception: half the time the first of two ``duplicate_in_pronote`` records is
``already_linked``, as when the first duplicate got the link). ``homonym``,
``same_name_same_date``, ``date_format`` and ``not_in_directory`` are also
derived from the data at the end, so that accidental cases are labelled too.

==========================  ============================================  ==========
label                       what                                          rate
==========================  ============================================  ==========
homonym                     same names, different birth date (and any     1 pair per
                            other same-name pair that happens, guardians  200 students
                            included: they have no date in the file)      (min 1)
twins                       same surname and birth date, different first  1 pair per
                            names (the first pair is LOUIS / LOUISE)      100 students
same_name_same_date         two people, same names and date: ambiguous    1 pair per
                                                                          600 students
typo                        one letter differs in the directory           1% of records
mojibake                    file name UTF-8 read as CP1252 (MÃ©rine)      0.5% of S+T+G
lost_letter                 file name with ``$`` for an accented letter   0.5% of S+T+G
accents_dropped             directory name without accents                3% of S+T
compound_name               MARTIN-DUPONT vs MARTIN DUPONT / MARTIN       1% of S+T
married_name                guardian under another surname in directory   3% of guardians
date_format                 file and directory write the date differently file 80% d/m/y,
                                                                          directory 90% ISO
date_typo                   directory date differs by one component       0.5% of S+T
swapped_day_month           directory date has day and month swapped      0.5% of S+T
cas_login                   IdentifiantCAS = directory login              30% of plain
                                                                          S, T, staff;
                                                                          15% of G
already_linked              directory already stores ``{uai}${idpn}``      20% of plain
                                                                          records
stale_identifier            directory stores an old identifier of this    1% of students;
                            establishment (also on departed accounts)     60% of departed
                                                                          students, 50% of
                                                                          others departed
departed                    directory account of the establishment, not   4% of students
                            in the file (with guardians), teachers        (+ guardians),
                                                                          5% of teachers
not_in_directory            file record without directory account         1% of students,
                                                                          2% of T and G,
                                                                          1 supervisor
duplicate_in_pronote        same person twice in the file (two IDPNs)     1 per 600 S,
                                                                          1 per 300 G
two_establishments          teacher in two UAIs, storing the other's id   10% of teachers
==========================  ============================================  ==========

(S: students, T: teachers, G: guardians. "Plain" records carry no exclusive
hard case.)

Optional, off by default so that the bundled demo stays what it is (each
draws from a generator of its own, seeded from ``seed``):

``wrong_links`` (``--wrong-links``), a past mistake: ``wrong_existing_link``
on a plain record whose identifier is stored on the account of another plain
person of the category (1% of students, guardians and teachers, min 1 each),
whose own record carries ``wrong_link_holder``.

``relatives`` (``--relatives``), more guardians who are not a child's parent:
``grandparent`` (for 5% of families, min 1: the family's surname or not, the
father's first name for a fifth of the grandfathers, a guardian of the
grandchildren in the file, with a directory account linked to them half of
the time) and ``namesake`` (1% of guardians, min 3: the very names of another
guardian of the establishment, current or departed; no children half the
time, else a guardian of a child of another family; an account of their own
for a third of them).

``mode="partiel"`` (``--mode partiel``), the file Pronote exports with "only
users without CAS identifiers": people who signed in through the ENT are not
in it, their accounts store their identifier (students 50%, guardians 45%,
teachers 60%, the others 40%; a ``wrong_existing_link`` record always: its
holder signed in with it), and the students' links to guardians left out
are dropped. The September complete import removed the departed accounts'
identifiers. A guardian in the file none of whose children is in it carries
``children_absent``.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the repository root is not on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# The parts live in bench/generator/ (one module a concern). The names the
# tests and the other bench scripts use stay importable from here; the name
# tables and the other helpers are in bench.generator.names.
from bench.generator.cases import _Establishment
from bench.generator.directory import CSV_HEADER, _write_directory
from bench.generator.names import (
    _key,
    fold,
    has_accent,
    lose_letters,
    mojibake,
    uai_check_letter,
)
from bench.generator.people import (
    ALL_LABELS,
    CATEGORIES,
    ELEMENTS,
    EXTRA_LABELS,
    FORMS,
    LABELS,
    MODES,
    PROFILES,
    GenerationResult,
)
from bench.generator.pronote import _write_identifiers, _write_timetable
from bench.generator.truth import _write_truth

__all__ = [
    "ALL_LABELS",
    "CATEGORIES",
    "CSV_HEADER",
    "ELEMENTS",
    "EXTRA_LABELS",
    "FORMS",
    "LABELS",
    "MODES",
    "PROFILES",
    "GenerationResult",
    "_key",
    "fold",
    "generate",
    "has_accent",
    "lose_letters",
    "main",
    "mojibake",
    "uai_check_letter",
]

# --- entry points ----------------------------------------------------------


def generate(
    out_dir: Path,
    *,
    seed: int = 1,
    students: int = 600,
    uai: str = "0441234A",
    name: str = "Collège Marie Curie",
    other_accounts: int = 0,
    export_date: str | datetime = "2026-09-01T08:30:00",
    form: str = "reference",
    envelope: bool = False,
    wrong_links: bool = False,
    relatives: bool = False,
    mode: str = "complet",
    login_suffix: str = "",
) -> GenerationResult:
    """Write identifiants.xml, annuaire.csv and truth.json into `out_dir`.

    `form="timetable"`: identifiants.xml is an ExportEmploiDuTemps, of a
    population that form can hold (no supervisors, no inspectors, every guardian
    under a student), and identifiants-reference.xml the same people in the
    reference form. `envelope`: also identifiants.chiffre.xml, identifiants.xml
    in an EXPORT_INDEX_EDUCATION envelope, and partner.pem, the fresh key that
    opens it (0600). `wrong_links`, `relatives` and `mode` add the optional
    cases of the module's docstring; off, the files are what they always were.
    `login_suffix` ends every login of the establishment (several establishments
    generated into one directory must not share logins).
    """
    if form not in FORMS:
        raise ValueError(f"form: one of {', '.join(FORMS)}")
    if form == "timetable" and mode == "partiel":
        # It lists guardians under their students: a partial file's guardians whose
        # children signed in could not be in it.
        raise ValueError("mode partiel: the reference form only")
    if students < 20:
        raise ValueError("students: at least 20, so that every hard case has people to carry it")
    if mode not in MODES:
        raise ValueError(f"mode: one of {', '.join(MODES)}")
    stamp = (
        export_date if isinstance(export_date, datetime) else datetime.fromisoformat(export_date)
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    school = _Establishment(
        seed,
        students,
        uai,
        stamp,
        timetable=form == "timetable",
        wrong_links=wrong_links,
        relatives=relatives,
        mode=mode,
        login_suffix=login_suffix,
    )
    school.build()
    school.render()
    identifiers = out_dir / "identifiants.xml"
    directory = out_dir / "annuaire.csv"
    truth = out_dir / "truth.json"
    school.identifiers_path = identifiers
    if form == "timetable":
        _write_timetable(identifiers, school, seed)
        reference = out_dir / "identifiants-reference.xml"
        _write_identifiers(reference, school, name, stamp.isoformat(timespec="seconds"))
    else:
        _write_identifiers(identifiers, school, name, stamp.isoformat(timespec="seconds"))
    if envelope:
        from bench.envelope import wrap_file

        wrap_file(identifiers, out_dir, name=name)
    local = _write_directory(directory, school, other_accounts, seed)
    labels = _write_truth(truth, school, seed, name)
    counts = {slug: sum(len(h.records) for h in school.humans[slug]) for slug in CATEGORIES}
    obsolete = sum(1 for h in school.departed if "stale_identifier" in h.labels)
    return GenerationResult(
        out_dir, identifiers, directory, truth, counts, local, other_accounts, labels, obsolete
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--form", choices=FORMS, default="reference")
    parser.add_argument(
        "--envelope", action="store_true", help="also wrap identifiants.xml for a fresh key"
    )
    parser.add_argument(
        "--wrap",
        type=Path,
        metavar="FILE",
        help="only wrap FILE in an envelope for a fresh key, into OUT_DIR",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--students", type=int, default=600)
    parser.add_argument("--uai", default="0441234A")
    parser.add_argument("--name", default="Collège Marie Curie")
    parser.add_argument("--other-accounts", type=int, default=0)
    parser.add_argument("--export-date", default="2026-09-01T08:30:00")
    parser.add_argument("--wrong-links", action="store_true", help="wrong_existing_link cases")
    parser.add_argument("--relatives", action="store_true", help="grandparents and namesakes")
    parser.add_argument("--mode", choices=MODES, default="complet")
    args = parser.parse_args(argv)
    if args.wrap:
        from bench.envelope import wrap_file

        target, key_path = wrap_file(args.wrap, args.out_dir)
        print(f"{target}: {args.wrap} for partner ENTPARTENAIRE; key {key_path} (0600)")
        return 0
    # Every other option is one of generate()'s keywords, under the same name.
    options = {k: v for k, v in vars(args).items() if k not in ("out_dir", "wrap")}
    started = time.perf_counter()
    result = generate(args.out_dir, **options)
    elapsed = time.perf_counter() - started
    print(f"{result.out_dir}: " + ", ".join(f"{k} {v}" for k, v in result.counts.items()))
    print(
        f"directory: {result.local_accounts} accounts of {args.uai}"
        f" + {result.other_accounts} of other establishments; obsolete {result.obsolete}"
    )
    print("labels: " + ", ".join(f"{k} {v}" for k, v in result.labels.items()))
    print(f"{elapsed:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
