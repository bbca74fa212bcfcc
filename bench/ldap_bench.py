"""How fast the LDAP adapter searches, lists and writes on a 100,000-account directory.

    .venv/bin/python bench/ldap_bench.py [--accounts 100000] [--queries 300] [--writes 5000]
                                         [--survey]

Generates a realistic directory with `bench/datagen.py` (one collège of 600
students, the rest other establishments' accounts), turns it into LDIF for a
preset (`bench/ldap_data.py`), loads it into a private slapd with
`slapadd -q` (tests/ldap/server.py: the presets' recommended indexes, a
durable mdb database), then prints:

- search-as-you-type latency, median / p95 / max, over many 1-3 letter
  prefixes and "dup", directory-wide and within the collège;
- the time to load the whole collège (`accounts(uai)`, every category);
- the time to write identifiers on 5,000 accounts, and to replay them;
- with `--survey`, the time of `survey()` (what `idpronote config check` and
  setup count: every account per profile and establishment, and the write check).

The target is a search median under 50 ms. Needs OpenLDAP's slapd.
"""

from __future__ import annotations

import argparse
import random
import statistics
import string
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.datagen import generate  # noqa: E402
from bench.ldap_data import read_annuaire, write_ldif  # noqa: E402
from core.model import ChangeKind, IdentifierChange  # noqa: E402
from directory_adapters.ldap import LdapDirectory  # noqa: E402
from directory_adapters.mapping import AttributeMapping  # noqa: E402
from directory_adapters.survey import survey  # noqa: E402
from tests.ldap.server import Slapd, missing_programs  # noqa: E402

UAI = "0441234A"


def timings(run: Callable[[str], object], queries: list[str]) -> tuple[float, float, float]:
    spent = []
    for query in queries:
        start = time.perf_counter()
        run(query)
        spent.append((time.perf_counter() - start) * 1000)
    spent.sort()
    return statistics.median(spent), spent[max(0, int(len(spent) * 0.95) - 1)], spent[-1]


def build_directory(folder: Path, accounts: int, preset: str) -> tuple[Path, list]:
    """annuaire.csv with `accounts` rows in all, as LDIF; (ldif path, the rows)."""
    local = generate(folder / "probe", students=600).local_accounts
    generate(folder, students=600, other_accounts=max(0, accounts - local))
    people = list(read_annuaire(folder / "annuaire.csv"))
    ldif = folder / "annuaire.ldif"
    write_ldif(people, ldif, preset)
    return ldif, people


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--writes", type=int, default=5_000)
    parser.add_argument("--preset", default="ent", choices=("ent", "inetorgperson", "esco"))
    parser.add_argument(
        "--survey", action="store_true", help="also time survey() (config check, setup)"
    )
    args = parser.parse_args()
    missing = missing_programs()
    if missing:
        print(f"needs OpenLDAP: {', '.join(missing)} not found (make slapd)", file=sys.stderr)
        return 2
    rng = random.Random(1)

    with tempfile.TemporaryDirectory(prefix="idpronote-ldap-bench-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        ldif, people = build_directory(folder / "data", args.accounts, args.preset)
        print(
            f"generated {len(people)} accounts as LDIF ({args.preset}), "
            f"{ldif.stat().st_size / 2**20:.0f} MiB, in {time.perf_counter() - start:.1f} s"
        )
        server = Slapd(folder / "slapd", ldif, tls=False, durable=True, maxsize=4 << 30)
        start = time.perf_counter()
        server.start()
        print(f"slapadd -q and start: {time.perf_counter() - start:.1f} s")
        try:
            directory = LdapDirectory(
                {
                    "url": server.url,
                    "bind_dn": server.service_dn,
                    "password": server.service_password,
                    "base_dn": server.people_dn,
                },
                AttributeMapping.build(args.preset),
            )
            print(directory.describe())
            if args.survey:
                survey_figures(directory)
            search_figures(directory, people, rng, args.queries)
            load_figures(directory)
            write_figures(directory, people, rng, args.writes)
            directory.close()
        finally:
            server.stop()
    return 0


def search_figures(directory: LdapDirectory, people: list, rng: random.Random, count: int) -> None:
    words = [p.nom for p in people if UAI in p.uais] + [p.prenom for p in people[:5000]]
    words = [w.replace("'", " ").split()[-1].lower() for w in words if w.strip()]
    groups = {
        "1 letter": [rng.choice(string.ascii_lowercase) for _ in range(count)],
        "2 letters": [rng.choice(words)[:2] for _ in range(count)],
        "3 letters": [rng.choice(words)[:3] for _ in range(count)],
        '"dup"': ["dup"] * max(20, count // 10),
    }
    every = [q for queries in groups.values() for q in queries]
    print(f"search latency (ms): median / p95 / max, {count} queries per group")
    for label, run in (
        ("directory-wide", directory.search),
        ("within the collège", lambda q: directory.search(q, uai=UAI)),
    ):
        print(f"  {label}:")
        for name, queries in groups.items():
            median, p95, worst = timings(run, queries)
            print(f"    {name:<10} {median:7.1f} / {p95:7.1f} / {worst:7.1f}")
        median, p95, worst = timings(run, every)
        print(f"    {'all':<10} {median:7.1f} / {p95:7.1f} / {worst:7.1f}")


def survey_figures(directory: LdapDirectory) -> None:
    for attempt in ("first (cold caches)", "second"):
        start = time.perf_counter()
        found = survey(directory)
        spent = time.perf_counter() - start
        print(
            f"survey, {attempt}: {found.total} accounts"
            f"{' (capped)' if found.capped else ''}, {len(found.profiles)} profile values, "
            f"{len(found.establishments)} establishments, write check {found.write.status}, "
            f"in {spent:.2f} s"
        )


def load_figures(directory: LdapDirectory) -> None:
    for attempt in ("first (cold caches)", "second"):
        start = time.perf_counter()
        accounts = directory.accounts(UAI)
        spent = time.perf_counter() - start
        print(f"load of the collège, {attempt}: {len(accounts)} accounts in {spent * 1000:.0f} ms")


def write_figures(directory: LdapDirectory, people: list, rng: random.Random, count: int) -> None:
    alphabet = string.ascii_uppercase + string.digits
    form = directory.form
    changes = []
    for person in people:
        if len(changes) >= count:
            break
        if not person.uais or form.idpns_for(person.idpronote, person.uais[0]):
            continue
        idpn = "".join(rng.choice(alphabet) for _ in range(16))
        changes.append(IdentifierChange(person.login, person.uais[0], ChangeKind.ADD, idpn=idpn))
    for label in ("write", "replay (already in effect)"):
        start = time.perf_counter()
        outcomes = directory.apply(changes)
        spent = time.perf_counter() - start
        applied = sum(outcome.applied for outcome in outcomes)
        failures = ", ".join(sorted({o.failure for o in outcomes if o.failure}))
        print(
            f"{label}: {applied}/{len(changes)} identifiers applied in {spent:.2f} s "
            f"({len(changes) / spent:.0f}/s)" + (f", failures: {failures}" if failures else "")
        )


if __name__ == "__main__":
    sys.exit(main())
