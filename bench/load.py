"""Validate a 10,000-student step against slapd while another client searches continuously.

    .venv/bin/python bench/load.py [--students 10000] [--others 50000]

Generates a lycée with `bench/datagen.py` (its identifiers file and its
directory, other establishments' accounts around it), loads the directory
into a private slapd (`tests/ldap/server.py`, durable writes, the preset's
indexes), then:

1. measures search-as-you-type latency with nothing else running;
2. runs the wizard core on the file, validates step 1 (teachers), then
   validates step 2 (students: about as many writes as students) while a
   second client, with its own connection, searches without pause;
3. prints the write throughput of the step and the search latency during it;
4. validates step 3 (guardians) with no other client, for comparison.

The wizard's journal is written as in a real session (fsynced intents and
outcomes), so the throughput is the one an admin gets. Figures are printed,
never asserted.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import string
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import spread  # noqa: E402
from bench.datagen import generate  # noqa: E402
from bench.ldap_data import read_annuaire, write_ldif  # noqa: E402
from core.model import Category  # noqa: E402
from core.pronote_file import read_identifiers_file  # noqa: E402
from core.wizard import ImportSession  # noqa: E402
from directory_adapters.ldap import LdapDirectory  # noqa: E402
from directory_adapters.mapping import AttributeMapping  # noqa: E402
from tests.ldap.server import Slapd, missing_programs  # noqa: E402

UAI = "0441234A"


def percentiles(spent: list[float]) -> str:
    if not spent:
        return "no query"
    median, p95, worst = spread(spent)
    return f"median {median:6.1f} ms, p95 {p95:6.1f} ms, max {worst:6.1f} ms ({len(spent)} queries)"


def searcher(settings: dict, words: list[str], stop, out) -> None:
    """Another client: its own process and connection, searching without pause."""
    directory = LdapDirectory(settings, AttributeMapping.build("ent"))
    rng = random.Random(2)
    spent = []
    while not stop.is_set():
        word = rng.choice(words)[: rng.randint(1, 4)]
        start = time.perf_counter()
        directory.search(word, uai=UAI if rng.random() < 0.5 else None)
        spent.append((time.perf_counter() - start) * 1000)
    directory.close()
    out.put(spent)


def searching(settings: dict, words: list[str]):
    """Start the other client; calling the result stops it and gives its latencies."""
    stop, out = multiprocessing.Event(), multiprocessing.Queue()
    process = multiprocessing.Process(target=searcher, args=(settings, words, stop, out))
    process.start()

    def finish() -> list[float]:
        stop.set()
        spent = out.get(timeout=60)
        process.join()
        return spent

    return finish


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=10_000)
    parser.add_argument("--others", type=int, default=50_000, help="other establishments' accounts")
    args = parser.parse_args()
    missing = missing_programs()
    if missing:
        print(f"needs OpenLDAP: {', '.join(missing)} not found (make slapd)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="idpronote-load-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        generate(folder / "data", students=args.students, name="Lycée", other_accounts=args.others)
        people = list(read_annuaire(folder / "data" / "annuaire.csv"))
        write_ldif(people, folder / "annuaire.ldif", "ent")
        print(f"generated {len(people)} accounts in {time.perf_counter() - start:.1f} s")
        server = Slapd(folder / "slapd", folder / "annuaire.ldif", tls=False, durable=True,
                       maxsize=4 << 30)  # fmt: skip
        server.start()
        settings = {
            "url": server.url,
            "bind_dn": server.service_dn,
            "password": server.service_password,
            "base_dn": server.people_dn,
        }
        try:
            run(folder, settings, people)
        finally:
            server.stop()
    return 0


def run(folder: Path, settings: dict, people: list) -> None:
    writer = LdapDirectory(settings, AttributeMapping.build("ent"))
    words = [p.nom.split()[-1].lower() for p in people if p.nom.strip()]
    words = [w for w in words if w.isalpha()] or list(string.ascii_lowercase)

    finish = searching(settings, words)
    time.sleep(5)
    print(f"search, idle server:        {percentiles(finish())}")

    export = read_identifiers_file(folder / "data" / "identifiants.xml")
    start = time.perf_counter()
    session = ImportSession(
        writer, export, uai=UAI, mode="complet", data_dir=folder / "journal"
    ).start()
    students = session.state(Category.ELEVES)
    print(
        f"session start (directory load, matching): {time.perf_counter() - start:.1f} s; "
        f"{len(export.accounts[Category.ELEVES])} students in the file"
    )
    session.validate()  # teachers
    state = session.current
    changes = len(session.plan(state).changes)
    assert state is students

    finish = searching(settings, words)
    start = time.perf_counter()
    outcomes = session.validate()  # students, while the other client searches
    spent = time.perf_counter() - start
    busy = finish()
    applied = sum(o.applied for o in outcomes)
    print(
        f"step 2 validated: {applied}/{changes} changes applied in {spent:.1f} s "
        f"({applied / spent:.0f}/s, journal included)"
    )
    print(f"search, during the step:    {percentiles(busy)}")
    # The same wizard with nobody else on the server: step 3, guardians.
    changes = len(session.plan(session.current).changes)
    start = time.perf_counter()
    outcomes = session.validate()
    spent = time.perf_counter() - start
    applied = sum(o.applied for o in outcomes)
    print(
        f"step 3 validated, no other client: {applied}/{changes} changes in {spent:.1f} s "
        f"({applied / spent:.0f}/s)"
    )
    session.interrupt()
    writer.close()


if __name__ == "__main__":
    sys.exit(main())
