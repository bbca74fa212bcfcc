"""Time and memory of idpronote on hostile inputs, each as a process (start included).

    .venv/bin/python bench/hostile_files.py [--only files|work] [--quick]

`files`: the hostile identifiers files, read by `idpronote inspect`: each
must be refused (exit 2, one line on stderr) or loaded partially (exit 1,
its problems listed), in well under 2 s.

`work` (issue 20, item 6): inputs that once cost far more than their size,
each now bounded:

- a CSV where many rows store one identifier value (the holders index was
  quadratic: 80,000 rows 14.9 s, 160,000 rows 72.7 s), loaded whole by
  `idpronote search`, against as many rows of distinct values;
- `idpronote match` on 200,000 records of one name against 2,000 homonyms
  (80 s and 6.7 GB), with one birth date and with random ones (a config
  raises `max_size_mb` to 100 so the reader admits that many records);
- 49 MB files under the 50 MB limit: realistic records and `<a/>` repeated
  (20 s / 1.8 GB and 89 s / 1.7 GB), refused before parsing, and a file at
  the markup bound itself (1,000,000 tags and attributes), read.

Each line gives the exit status, the wall time and the peak memory (maximum
resident set) of that process alone (wait4). The tests check the outcomes;
this prints the costs, as a user sees them.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import wait_measured  # noqa: E402

UAI = "0441234A"
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
BODY = (
    '<IdentifiantsPronote UAI="0441234A"><Eleves>'
    '<Eleve IDPN="5A2MJSNYRDTWKP4Q" Nom="{name}" Prenom="Jean"/>'
    "</Eleves></IdentifiantsPronote>"
)
HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<IdentifiantsPronote UAI="0441234A"><Eleves>\n'
TAIL = "</Eleves></IdentifiantsPronote>\n"
CSV_HEADER = "login;nom;prenom;date_naissance;profil;uai;classes;eleves;idpronote\n"


# -- running -----------------------------------------------------------------------------------


def measure(argv: list[str], cwd: Path) -> tuple[int, float, float, str]:
    """(exit status, wall seconds, peak MiB of this child alone, first line of its output)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "tui", *argv, "--lang", "en"],
            stdout=out,
            stderr=err,
            cwd=cwd,
            env={**os.environ, "PYTHONPATH": str(ROOT), "XDG_DATA_HOME": str(cwd / "data")},
        )
        wall, mib = wait_measured(child, start)
        out.seek(0)
        err.seek(0)
        text = (err if child.returncode == 2 else out).read().decode("utf-8", "replace")
    first = next((line for line in text.splitlines() if line.strip()), "")
    return child.returncode, wall, mib, first.replace(str(cwd), "…")


def show(name: str, argv: list[str], cwd: Path) -> None:
    code, wall, mib, first = measure(argv, cwd)
    print(f"{name:<44} {code:>4} {wall:>7.2f} {mib:>6.0f}  {first[:60]}", flush=True)


def heading(title: str) -> None:
    print(
        f"\n{title}\n{'input':<44} {'exit':>4} {'wall s':>7} {'MiB':>6}  first line of the output"
    )


# -- the hostile identifiers files ----------------------------------------------------------------


def corpus(directory: Path) -> dict[str, Path]:
    files: dict[str, bytes | None] = {}
    files["internal DTD"] = (
        '<?xml version="1.0"?>\n<!DOCTYPE x [<!ELEMENT x ANY>]>\n' + BODY.format(name="A")
    ).encode()
    laughs = ['<!ENTITY l0 "lol">'] + [
        f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)
    ]
    files["billion laughs"] = (
        '<?xml version="1.0"?>\n<!DOCTYPE z [' + "".join(laughs) + "]>\n" + BODY.format(name="&l9;")
    ).encode()
    files["quadratic blowup"] = (
        '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "'
        + "A" * 50_000
        + '">]>\n'
        + BODY.format(name="&a;" * 20_000)
    ).encode()
    files["external entity (file)"] = (
        '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n'
        + BODY.format(name="&e;")
    ).encode()
    files["external DTD (URL)"] = (
        '<?xml version="1.0"?>\n<!DOCTYPE x SYSTEM "http://127.0.0.1:9/x.dtd">\n'
        + BODY.format(name="A")
    ).encode()
    files["invalid bytes, no declaration"] = BODY.format(name="M\xe9rine").encode("latin-1")
    files["lying declaration"] = (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + BODY.format(name="Mérine")
    ).encode("cp1252")
    files["deep nesting (100,000)"] = ("<a>" * 100_000 + "</a>" * 100_000).encode()
    files["truncated"] = BODY.format(name="A")[:-20].encode()
    files["300 MB of junk"] = None
    files["UAI climbing out (../../../x)"] = (
        BODY.format(name="A").replace(UAI, "../../../x").encode()
    )

    def student(idpn: str, name: str) -> str:
        return f'<Eleve IDPN="{idpn}" Nom="{name}" Prenom="Jean" DateNaissance="01/02/2012"/>\n'

    files["10,000 people, one identifier"] = (
        HEAD + "".join(student("5A2MJSNYRDTWKP4Q", f"NOM{i:05d}") for i in range(10_000)) + TAIL
    ).encode()
    files["one person 10,000 times"] = (
        HEAD + student("5A2MJSNYRDTWKP4Q", "DUPONT") * 10_000 + TAIL
    ).encode()
    files["names of 10,000 characters"] = (
        HEAD + "".join(student(f"{i:016d}", "A" * 10_000) for i in range(1_000)) + TAIL
    ).encode()
    files["right-to-left override"] = (
        HEAD + student("5A2MJSNYRDTWKP4Q", "EVIL\u202eLIVE") + TAIL
    ).encode()
    paths = {}
    for index, (name, data) in enumerate(files.items()):
        path = directory / f"hostile-{index}.xml"
        if data is None:
            with open(path, "wb") as handle:
                handle.write(os.urandom(1 << 20))
                handle.truncate(300 * 1024 * 1024)
        else:
            path.write_bytes(data)
        paths[name] = path
    return paths


# -- item 6: work bounded -----------------------------------------------------------------------


def _idpn(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(16))


def shared_value_csv(path: Path, rows: int, *, distinct: bool) -> None:
    rng = random.Random(rows)
    shared = _idpn(rng)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(CSV_HEADER)
        for n in range(rows):
            value = _idpn(rng) if distinct else shared
            handle.write(f"u{n};NOM{n};Jean;;National_ELV;0359999Z;;;{UAI}${value}\n")


def homonyms(folder: Path, records: int, accounts: int) -> None:
    rng = random.Random(records)
    with open(folder / "homonyms.csv", "w", encoding="utf-8") as handle:
        handle.write(CSV_HEADER)
        for n in range(accounts):
            handle.write(f"jm{n};MARTIN;Jean;2012-01-01;National_ELV;{UAI};5A;;\n")
    for variant in ("one date", "random dates"):
        with open(folder / f"homonyms-{variant[:3]}.xml", "w", encoding="utf-8") as handle:
            handle.write(HEAD)
            for _ in range(records):
                born = "01/01/2012"
                if variant == "random dates":
                    day, month = rng.randint(1, 28), rng.randint(1, 12)
                    born = f"{day:02d}/{month:02d}/{rng.randint(1990, 2015)}"
                idpn = _idpn(rng)
                handle.write(
                    f'<Eleve IDPN="{idpn}" Nom="MARTIN" Prenom="Jean" DateNaissance="{born}"/>\n'
                )
            handle.write(TAIL)
    (folder / "large.toml").write_text("[file]\nmax_size_mb = 100\n", encoding="utf-8")


def records_file(path: Path, *, size_mb: float | None = None, nodes: int | None = None) -> int:
    """Realistic records up to a size or a count of tags and attributes; how many."""
    rng = random.Random(7)
    written, count, n = len(HEAD), 0, 0
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(HEAD)
        while True:
            line = (
                f'<Eleve Ident="{n}" IDPN="{_idpn(rng)}" Nom="NOM{n:07d}" Prenom="Jean" '
                f'DateNaissance="01/02/2012" Classe="5A"/>\n'
            )
            cost = line.count("<") + line.count("=")
            if (size_mb and written + len(line) > size_mb * 2**20) or (
                nodes and count + cost > nodes - 10
            ):
                break
            handle.write(line)
            written, count, n = written + len(line), count + cost, n + 1
        handle.write(TAIL)
    return n


def tiny_elements(path: Path, size_mb: float) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(HEAD)
        handle.write('<Eleve IDPN="5A2MJSNYRDTWKP4Q" Nom="A" Prenom="B"/>\n')
        handle.write("<a/>" * int((size_mb * 2**20 - 200) // 4))
        handle.write(TAIL)


def work(folder: Path, quick: bool) -> None:
    heading("Inputs that cost more than their size (issue 20, item 6)")
    sizes = (20_000, 40_000) if quick else (80_000, 160_000)
    for rows in sizes:
        for distinct in (False, True):
            path = folder / f"shared-{rows}-{distinct}.csv"
            shared_value_csv(path, rows, distinct=distinct)
            what = "distinct values" if distinct else "one identifier value"
            show(
                f"CSV, {rows:,} rows, {what}",
                ["search", "x", "--directory-file", path.name],
                folder,
            )
    records, accounts = (20_000, 2_000) if quick else (200_000, 2_000)
    homonyms(folder, records, accounts)
    for variant in ("one", "ran"):
        label = "one date" if variant == "one" else "random dates"
        show(
            f"match, {records:,} x 1 name vs {accounts:,} ({label})",
            [
                "match", f"homonyms-{variant}.xml", "--directory-file", "homonyms.csv",
                "--config", "large.toml", "--format", "json", "--output", "report.json",
            ],
            folder,
        )  # fmt: skip
    size = 5 if quick else 49
    count = records_file(folder / "records.xml", size_mb=size)
    show(f"inspect, {size} MB of records ({count:,})", ["inspect", "records.xml"], folder)
    tiny_elements(folder / "tiny.xml", size)
    show(f"inspect, {size} MB of <a/>", ["inspect", "tiny.xml"], folder)
    count = records_file(folder / "bound.xml", nodes=1_000_000)
    show(f"inspect, at the markup bound ({count:,} records)", ["inspect", "bound.xml"], folder)
    show(
        f"match, at the markup bound ({count:,} records)",
        ["match", "bound.xml", "--directory-file", "homonyms.csv", "--format", "json",
         "--output", "bound.json"],
        folder,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("files", "work"))
    parser.add_argument("--quick", action="store_true", help="smaller inputs (a smoke run)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.only in (None, "files"):
            heading("Hostile identifiers files (idpronote inspect)")
            for name, path in corpus(folder).items():
                show(name, ["inspect", str(path)], folder)
        if args.only in (None, "work"):
            work(folder, args.quick)
    print("\nMiB: peak resident memory of that process alone (wait4's ru_maxrss).")


if __name__ == "__main__":
    main()
