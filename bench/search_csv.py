"""How fast the CSV directory loads and searches an academy-sized file.

    .venv/bin/python bench/search_csv.py [--rows 200000] [--queries 300]

Generates its own seeded file (French-looking names, a few hundred
establishments), then prints the load time, the memory it takes, and the
latency of search-as-you-type queries of 1, 2 and 3 letters and of two words.
The target is under 5 ms median for 2-3 letter prefixes on 200,000 rows.
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import timings
from core.model import Category, ChangeKind, IdentifierChange
from directory_adapters.csv import CsvDirectory

SYLLABLES = (
    "ba be bo bou bi ca ce cha che co cou da de di do du fa fe fi fo ga gi go gu "
    "la le li lo lou ma me mi mo mou na ne ni no pa pe pi po ra re ri ro rou sa se "
    "si so ta te ti to tou va ve vi vo ber bert bon lin let mont ran ville court"
).split()
SURNAMES = (
    "MARTIN BERNARD DUBOIS THOMAS ROBERT RICHARD PETIT DURAND LEROY MOREAU SIMON "
    "LAURENT LEFEBVRE MICHEL GARCIA DAVID BERTRAND ROUX VINCENT FOURNIER MOREL GIRARD "
    "ANDRE LEFEVRE MERCIER DUPONT LAMBERT BONNET FRANCOIS MARTINEZ"
).split()
PARTICLES = ("", "", "", "", "", "", "LE ", "DE ", "D'", "DE LA ", "DU ")
FIRST_NAMES = (
    "Jean Marie Mérine Léa Chloé Lucas Hugo Théo Inès Zoé Emma Louise Jade Gabriel "
    "Raphaël Arthur Louis Jules Adam Maël Noémie Anaïs Élodie Camille Manon Sarah "
    "Jean-Pierre Marie-Claire Anne-Sophie François Hélène Céline Benoît Jérôme"
).split()
PROFILES = ("National_ELV",) * 6 + ("National_TUT",) * 5 + ("National_ENS", "National_DOC")


def surname(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return rng.choice(SURNAMES)
    body = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).upper()
    return rng.choice(PARTICLES) + body


def generate(path: Path, rows: int, seed: int = 42) -> list[str]:
    rng = random.Random(seed)
    uais = [
        f"{rng.randint(0, 9999999):07d}{rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}" for _ in range(300)
    ]
    lines = ["login;nom;prenom;date_naissance;profil;uai;classes;eleves;idpronote;commentaire"]
    for n in range(rows):
        last, first = surname(rng), rng.choice(FIRST_NAMES)
        login = f"{first[0].lower()}{last.replace(' ', '').replace(chr(39), '').lower()[:7]}{n}"
        uai = rng.choice(uais)
        idpn = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(16))
        stored = f"{uai}${idpn}" if rng.random() < 0.5 else ""
        born = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(1970, 2015)}"
        lines.append(
            f"{login};{last};{first};{born};{rng.choice(PROFILES)};{uai};"
            f"{rng.randint(3, 6)}{rng.choice('ABCDE')};;{stored};"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return uais


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    rng = random.Random(1)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "annuaire.csv"
        start = time.perf_counter()
        uais = generate(path, args.rows)
        size_mb = path.stat().st_size / 2**20
        print(
            f"generated {args.rows} rows, {size_mb:.1f} MiB in {time.perf_counter() - start:.1f} s"
        )

        gc.collect()
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        directory = CsvDirectory(path)
        load = time.perf_counter() - start
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"load: {load:.2f} s ({directory.describe()}, {len(directory.problems)} problems)")
        print(f"peak RSS: {rss_after / 1024:.0f} MiB (+{(rss_after - rss_before) / 1024:.0f} MiB)")

        del directory
        gc.collect()
        tracemalloc.start()
        directory = CsvDirectory(path)
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"python heap: {current / 2**20:.0f} MiB kept, "
            f"{peak / 2**20:.0f} MiB peak while loading"
        )

        words = [a.surname for a in directory.accounts(uais[0])] + [
            a.first_name for a in directory.accounts(uais[1])
        ]
        words = [w.replace("D'", "").split()[-1].lower() for w in words]

        def sample(length: int) -> list[str]:
            return [rng.choice(words)[:length] for _ in range(args.queries)]

        letters = "abcdefghijklmnopqrstuvwxyz"
        groups = {
            "1 letter": [rng.choice(letters) for _ in range(args.queries)],
            "2 letters": sample(2),
            "3 letters": sample(3),
            "two words": [
                f"{rng.choice(words)[: rng.randint(2, 4)]} {rng.choice(words)[:2]}"
                for _ in range(args.queries)
            ],
            "full surname": sample(20),
        }
        print(f"search latency over {args.queries} queries each (ms): median / p95 / max")
        for name, queries in groups.items():
            median, p95, worst = timings(directory.search, queries)
            print(f"  {name:<14} {median:6.2f} / {p95:6.2f} / {worst:6.2f}")
        uai = uais[2]
        for name in ("2 letters", "two words"):
            median, p95, worst = timings(
                lambda q: directory.search(q, uai=uai, category=Category.ELEVES), groups[name]
            )
            print(f"  {name + ' +uai+cat':<14} {median:6.2f} / {p95:6.2f} / {worst:6.2f}")

        changes = []
        for account in directory.accounts(uai)[:100]:
            if not directory.form.idpns_for(account.identifiers, uai):
                idpn = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(16))
                changes.append(IdentifierChange(account.login, uai, ChangeKind.ADD, idpn=idpn))
        start = time.perf_counter()
        outcomes = directory.apply(changes)
        spent = time.perf_counter() - start
        applied = sum(o.applied for o in outcomes)
        print(f"apply: {applied}/{len(changes)} changes written in {spent * 1000:.0f} ms")


if __name__ == "__main__":
    main()
