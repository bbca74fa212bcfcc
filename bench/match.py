"""How right and how fast automatic reconciliation is, on data with a ground truth.

    .venv/bin/python bench/match.py [--only a|b] [--mode complet|partiel] [--others 990000]
                                    [--keep DIR]

Two sets, both from bench/datagen.py (every hard case of DOMAIN.md at the
rates its docstring gives, with its optional cases: wrong existing links,
grandparents and namesakes among the guardians), each then made harder on
purpose (below), each in both modes: ``complet`` (the whole file) and
``partiel`` (the file without whoever signed in through the ENT, so that
many guardians arrive with no child in it):

(a) a collège of 600 students against its own directory;
(b) a lycée of 3,000 students (about 10,000 Pronote accounts) against a
    regional directory of about 1,000,000 accounts in one CSV.

Adversarial cases added on top, at known counts, with their labels:

- ``twin_missing``: one of a pair of twins has no directory account; the
  other twin, same surname and birth date, is the closest account there is.
- ``homonym_near_date``: a second directory account with the same names and
  a birth date one component away (a different person, or a typo?).
- ``homonym_elsewhere``: the same names and date in another establishment.
- ``cas_wrong``: the file's IdentifiantCAS is another student's login.

For each category it prints: wrong automatic links (must be 0), recall among
the accounts that can be matched with certainty (see `certain()`), the hard
cases correctly withheld, then the wall time and peak memory of
``idpronote match`` as a process (start, load and report included) and how
the time splits (start, file, directory load, blocking, rules, candidates).
For the guardians it adds how many the file holds, how many arrive without a
child in it, how many are recognised and how many are left for a human; a
last table puts the two modes side by side.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import wait_measured  # noqa: E402
from bench.datagen import generate  # noqa: E402

# Records no matcher can link with certainty from the file and the directory.
UNCERTAIN = {
    "same_name_same_date",
    "duplicate_in_pronote",
    "lost_letter",
    "date_typo",
    "swapped_day_month",
    "not_in_directory",
    "twin_missing",
    "homonym_near_date",
    "cas_wrong",
    "wrong_existing_link",
    "wrong_link_holder",
}
# Records a careful matcher must withhold (or link only on stored/CAS evidence).
HARD = {
    "same_name_same_date",
    "duplicate_in_pronote",
    "twin_missing",
    "homonym_near_date",
    "wrong_existing_link",
    "wrong_link_holder",
}
STRONG_EVIDENCE = {"cas_login", "already_linked"}
FIRST_NAME_VARIANTS = {"Louis": "Louise", "Michel": "Michèle", "Pascal": "Pascale"}


# -- adversarial cases ----------------------------------------------------------------------


def harden(folder: Path, seed: int, count: int) -> Counter:
    """Add the adversarial cases to a generated set, in place; returns their counts."""
    from lxml import etree

    rng = random.Random(seed)
    truth_path = folder / "truth.json"
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    records = truth["records"]
    csv_path = folder / "annuaire.csv"
    lines = csv_path.read_text(encoding="utf-8").splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    by_login = {row.split(";", 1)[0]: n for n, row in enumerate(rows)}
    tree = etree.parse(str(folder / "identifiants.xml"))
    elements = {e.get("IDPN"): e for e in tree.iter() if e.get("IDPN")}
    uai = truth["uai"]
    plain = [
        idpn
        for idpn, r in records.items()
        if r["category"] == "eleves" and r["login"] and not r["labels"]
    ]
    rng.shuffle(plain)
    added: Counter = Counter()
    removed: set[int] = set()
    extra: list[str] = []

    def fields(login: str) -> list[str]:
        return rows[by_login[login]].rstrip("\r\n").split(";")

    # twin_missing: drop one twin's account.
    twins = [i for i, r in records.items() if "twins" in r["labels"] and r["login"]]
    for idpn in twins[: max(1, count // 2)]:
        login = records[idpn]["login"]
        if login in by_login and by_login[login] not in removed:
            removed.add(by_login[login])
            records[idpn]["login"] = None
            records[idpn]["labels"].append("twin_missing")
            added["twin_missing"] += 1
    for n in range(count):
        # homonym_near_date
        idpn = plain.pop()
        cells = fields(records[idpn]["login"])
        if cells[3]:
            y, m, d = (int(x) for x in _iso(cells[3]).split("-"))
            d = d + 1 if d < 28 else d - 1
            clone = [f"homonym.{n}", *cells[1:3], f"{y:04d}-{m:02d}-{d:02d}", *cells[4:7], "", ""]
            extra.append(";".join(clone) + "\n")
            records[idpn]["labels"].append("homonym_near_date")
            added["homonym_near_date"] += 1
        # homonym_elsewhere
        idpn = plain.pop()
        cells = fields(records[idpn]["login"])
        clone = [f"elsewhere.{n}", *cells[1:5], "0359999Z", "", "", ""]
        extra.append(";".join(clone) + "\n")
        records[idpn]["labels"].append("homonym_elsewhere")
        added["homonym_elsewhere"] += 1
        # cas_wrong
        idpn, other = plain.pop(), plain.pop()
        elements[idpn].set("IdentifiantCAS", records[other]["login"])
        records[idpn]["labels"].append("cas_wrong")
        added["cas_wrong"] += 1
    body = [row for n, row in enumerate(rows) if n not in removed]
    csv_path.write_text(header + "".join(body) + "".join(extra), encoding="utf-8")
    tree.write(str(folder / "identifiants.xml"), encoding="UTF-8", xml_declaration=True)
    truth_path.write_text(json.dumps(truth, ensure_ascii=False), encoding="utf-8")
    assert uai
    return added


def _iso(text: str) -> str:
    if "/" in text:
        d, m, y = text.split("/")
        return f"{y}-{m}-{d}"
    return text


# -- scoring the decisions ------------------------------------------------------------------


def certain(
    truth: dict,
    students_of: dict[str, set[str]],
    file_children: dict,
    partial: dict[str, bool] | None = None,
) -> set[str]:
    """Identifiers whose person can be found with certainty.

    A record with a directory account and none of the UNCERTAIN labels; a
    guardian only with stored or CAS evidence, or through one of their
    children who is certain and linked to them in the directory, or (partial
    mode, `partial`: identifier -> whether the issue's safe evidence holds)
    with no child in the file and names nobody else has.
    """
    records = truth["records"]
    found = set()
    for idpn, r in records.items():
        if not r["login"] or UNCERTAIN & set(r["labels"]) or r["category"] == "responsables":
            continue
        found.add(idpn)
    for idpn, r in records.items():
        if r["category"] != "responsables" or not r["login"] or UNCERTAIN & set(r["labels"]):
            continue
        if STRONG_EVIDENCE & set(r["labels"]):
            found.add(idpn)
            continue
        kids = {records[k]["login"] for k in file_children.get(idpn, ()) if k in found}
        if kids & students_of.get(r["login"], set()):
            found.add(idpn)
        elif partial and partial.get(idpn):
            found.add(idpn)
    return found


def names_only_evidence(export, directory, uai: str) -> dict[str, bool]:
    """Partial mode: guardians the issue's evidence names with certainty, from the data.

    No child of theirs in the file; surname and first name (normalised) unique
    among the establishment's guardians in the file and in the directory; the
    account of those names holds no identifier of the establishment; its
    children are students of the establishment, and they all hold one.
    """
    from core.model import Category
    from core.names import normalise_name

    def key(surname: str, first: str) -> tuple[str, str]:
        return "".join(normalise_name(surname).split()), "".join(normalise_name(first).split())

    guardians = export.accounts.get(Category.RESPONSABLES, ())
    pointed = {k for s in export.accounts.get(Category.ELEVES, ()) for k in s.guardian_keys}
    in_file = Counter(key(g.surname, g.first_name) for g in guardians)
    accounts = directory.accounts(uai)
    by_login = {a.login: a for a in accounts}
    tutors = [a for a in accounts if "National_TUT" in a.profiles]
    in_directory: dict[tuple[str, str], list] = defaultdict(list)
    for a in tutors:
        in_directory[key(a.surname, a.first_name)].append(a)
    found = {}
    for g in guardians:
        k = key(g.surname, g.first_name)
        found[g.idpn] = False
        if g.file_key in pointed or in_file[k] != 1 or len(in_directory.get(k, ())) != 1:
            continue
        (account,) = in_directory[k]
        if directory.form.idpns_for(account.identifiers, uai) or not account.students:
            continue
        kids = [by_login.get(s) for s in account.students]
        found[g.idpn] = all(
            kid is not None
            and "National_ELV" in kid.profiles
            and directory.form.idpns_for(kid.identifiers, uai)
            for kid in kids
        )
    return found


def evaluate(folder: Path, report: dict, mode: str = "complet") -> list[dict]:
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    records = truth["records"]
    from core.pronote_file import read_identifiers_file
    from directory_adapters.csv import CsvDirectory

    export = read_identifiers_file(folder / "identifiants.xml")
    directory = CsvDirectory(folder / "annuaire.csv", only_uai=truth["uai"])
    students_of = {a.login: set(a.students) for a in directory.accounts(truth["uai"]) if a.students}
    key_to_idpn = {p.file_key: p.idpn for p in export.all_accounts() if p.file_key}
    file_children: dict[str, list[str]] = defaultdict(list)
    for student in export.all_accounts():
        for key in student.guardian_keys:
            if key in key_to_idpn:
                file_children[key_to_idpn[key]].append(student.idpn)
    partial = names_only_evidence(export, directory, truth["uai"]) if mode == "partiel" else None
    sure = certain(truth, students_of, file_children, partial)
    rows = []
    for step in report["steps"]:
        stats = Counter()
        for account in step["accounts"]:
            idpn = account["idpn"]
            r = records[idpn]
            stats["accounts"] += 1
            linked = account["status"] == "recognised"
            if "children_absent" in r["labels"]:
                stats["childless"] += 1
            if linked:
                stats["recognised"] += 1
                stats[f"rule:{account['rule']}"] += 1
                if account["account"] != r["login"]:
                    stats["wrong"] += 1
                    print(f"  WRONG {idpn} {account} truth={r}")
            if idpn in sure:
                stats["certain"] += 1
                stats["certain_found"] += linked and account["account"] == r["login"]
            if HARD & set(r["labels"]):
                stats["hard"] += 1
                correct_strong = linked and account["rule"] in ("already_linked", "cas_login")
                stats["hard_withheld"] += (not linked) or (
                    correct_strong and account["account"] == r["login"]
                )
        rows.append({"category": step["category"], **stats})
    return rows


# -- running --------------------------------------------------------------------------------


def run_match(folder: Path, mode: str = "complet") -> tuple[dict, float, float]:
    """`idpronote match` as a process: (report, wall seconds, peak RSS in MiB)."""
    out = folder / "report.json"
    argv = [
        sys.executable,
        "-m",
        "tui",
        "match",
        str(folder / "identifiants.xml"),
        "--directory-file",
        str(folder / "annuaire.csv"),
        "--mode",
        mode,
        "--format",
        "json",
        "--output",
        str(out),
    ]
    started = time.perf_counter()
    process = subprocess.Popen(argv, cwd=ROOT, stderr=subprocess.DEVNULL)
    wall, mib = wait_measured(process, started)
    if process.returncode not in (0, 1):
        raise SystemExit(f"idpronote match failed on {folder}")
    return json.loads(out.read_text(encoding="utf-8")), wall, mib


def split(folder: Path, mode: str = "complet") -> dict[str, float]:
    """Where the time goes, measured in a fresh process."""
    code = r"""
import json, sys, time
t0 = time.perf_counter()
import cli.main, core.matching as m, core.matching.step as matching_step
from core.pronote_file import read_identifiers_file
from directory_adapters.csv import CsvDirectory
t1 = time.perf_counter()
spent = {"blocking": 0.0, "candidates": 0.0}
def timed(name, fn):
    def wrapper(*a, **k):
        s = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            spent[name] += time.perf_counter() - s
    return wrapper
m._Step.__init__ = timed("blocking", m._Step.__init__)
# Patched where the step looks it up (core/matching/step.py), not where it is defined.
matching_step.candidate_scores = timed("candidates", matching_step.candidate_scores)
folder = sys.argv[1]
export = read_identifiers_file(folder + "/identifiants.xml")
t2 = time.perf_counter()
directory = CsvDirectory(folder + "/annuaire.csv", only_uai=export.uai)
t3 = time.perf_counter()
steps = m.Reconciliation.from_directory(directory, export.uai, mode=sys.argv[2]).run(
    export.accounts
)
t4 = time.perf_counter()
rules = t4 - t3 - spent["blocking"] - spent["candidates"]
print(json.dumps({"imports": t1 - t0, "file": t2 - t1, "directory": t3 - t2,
                  "blocking": spent["blocking"], "rules": rules,
                  "candidates": spent["candidates"]}))
"""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", code, str(folder), mode],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    figures = json.loads(result.stdout)
    figures["interpreter"] = time.perf_counter() - started - sum(figures.values())
    return figures


def show(title: str, folder: Path, mode: str, added: Counter, generated: float) -> dict:
    report, wall, rss = run_match(folder, mode)
    rows = evaluate(folder, report, mode)
    print(f"\n{title} — mode {mode}")
    print(f"  data generated in {generated:.1f} s; adversarial cases: {dict(added)}")
    header = (
        f"  {'category':<18}{'accounts':>9}{'auto':>7}{'wrong':>7}"
        f"{'certain':>9}{'recall':>8}{'hard':>6}{'withheld':>10}"
    )
    print(header)
    total = Counter()
    for row in rows:
        total.update({k: v for k, v in row.items() if k != "category"})
        _line(row["category"], row)
    _line("total", total)
    guardians = next(r for r in rows if r["category"] == "responsables")
    left = guardians.get("accounts", 0) - guardians.get("recognised", 0)
    print(
        f"  guardians: {guardians.get('accounts', 0)} in the file, "
        f"{guardians.get('childless', 0)} with no child in it; "
        f"recognised {guardians.get('recognised', 0)} "
        f"(guardian_name {guardians.get('rule:guardian_name', 0)}), left for a human {left} "
        f"({100.0 * left / max(1, guardians.get('accounts', 0)):.0f} %)"
    )
    print(
        f"  idpronote match: {wall:.2f} s wall, {rss:.0f} MiB peak "
        "(process start, file, directory load and JSON report included)"
    )
    figures = split(folder, mode)
    parts = ", ".join(f"{k} {v:.2f} s" for k, v in figures.items())
    print(f"  split: {parts}")
    return {"total": total, "guardians": guardians, "wall": wall}


def _recall(row) -> float:
    certain_n = row.get("certain", 0)
    return 100.0 * row.get("certain_found", 0) / certain_n if certain_n else 100.0


def _line(name: str, row) -> None:
    certain_n = row.get("certain", 0)
    print(
        f"  {name:<18}{row.get('accounts', 0):>9}{row.get('recognised', 0):>7}"
        f"{row.get('wrong', 0):>7}{certain_n:>9}{_recall(row):>7.1f}%{row.get('hard', 0):>6}"
        f"{row.get('hard_withheld', 0):>10}"
    )


def side_by_side(results: dict[tuple[str, str], dict]) -> None:
    print("\nboth modes side by side")
    print(
        f"  {'set':<4}{'mode':<9}{'wrong':>6}{'recall':>8}{'guardians':>10}{'g. recall':>10}"
        f"{'g. left':>9}{'hard':>6}{'withheld':>9}"
    )
    for (key, mode), r in results.items():
        total, g = r["total"], r["guardians"]
        left = g.get("accounts", 0) - g.get("recognised", 0)
        print(
            f"  {key:<4}{mode:<9}{total.get('wrong', 0):>6}{_recall(total):>7.1f}%"
            f"{g.get('accounts', 0):>10}{_recall(g):>9.1f}%{left:>9}"
            f"{total.get('hard', 0):>6}{total.get('hard_withheld', 0):>9}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("a", "b"))
    parser.add_argument("--mode", choices=("complet", "partiel"), help="one mode only")
    parser.add_argument("--others", type=int, default=990_000, help="(b) other accounts")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep", type=Path, help="write the data here and keep it")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="idpronote-match-"))
    sets = [
        ("a", "(a) collège, 600 students, its own directory", 600, 0, 6),
        ("b", f"(b) lycée, 3,000 students, {args.others:,} other accounts", 3000, args.others, 20),
    ]
    results = {}
    for key, title, students, others, adversarial in sets:
        if args.only and args.only != key:
            continue
        for mode in ("complet", "partiel"):
            if args.mode and args.mode != mode:
                continue
            folder = base / key / mode
            started = time.perf_counter()
            generate(
                folder,
                seed=args.seed,
                students=students,
                other_accounts=others,
                wrong_links=True,
                relatives=True,
                mode=mode,
            )
            added = harden(folder, args.seed, adversarial)
            elapsed = time.perf_counter() - started
            results[key, mode] = show(title, folder, mode, added, elapsed)
    side_by_side(results)
    print(f"\ndata in {base}")


if __name__ == "__main__":
    main()
