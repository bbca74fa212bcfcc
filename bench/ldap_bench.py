"""How fast the LDAP adapter searches, lists and writes on a 100,000-account directory.

    .venv/bin/python bench/ldap_bench.py [--accounts 100000] [--queries 300] [--writes 5000]
                                         [--survey] [--attempts 3] [--modes durable,dbnosync]
                                         [--writes-only]

Generates a realistic directory with `bench/datagen.py` (one collège of 600
students, the rest other establishments' accounts), turns it into LDIF for a
preset (`bench/ldap_data.py`), loads it with `slapadd -q` into a private
slapd's mdb database (tests/ldap/server.py: the presets' recommended
indexes), then prints:

- search-as-you-type latency, median / p95 / max, over many 1-3 letter
  prefixes and "dup", directory-wide and within the collège;
- the time to load the whole collège (`accounts(uai)`, every category);
- with `--survey`, the time of `survey()` (what `idpronote config check` and
  setup count: every account per profile and establishment, and the write check);
- writes: the same 5,000 identifiers written by idpronote (`apply`, as the
  service account, then replayed: every change "already in effect") and by
  `ldapmodify -x` (one LDIF of the same modifications, as the same account),
  each on a fresh server holding a copy of the same loaded database, in each
  mode (`durable`: mdb syncs every commit; `dbnosync`: it does not, as on
  many replicated servers), best of `--attempts`, the two methods taking
  turns so that a change in the machine's load hits both. One line per mode:

      writes 5000: idpronote X s, ldapmodify Y s, ratio R (durable, best of 3)

Targets: a search median under 50 ms; a write ratio of at most 1.3 durable
and 2.0 with dbnosync. Needs OpenLDAP's slapd and ldapmodify. The figures
depend on the machine's load: the load average is printed next to them.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import timings  # noqa: E402
from bench.datagen import generate  # noqa: E402
from bench.ldap_data import line, person_dn, read_annuaire, write_ldif  # noqa: E402
from core.model import ChangeKind, IdentifierChange  # noqa: E402
from directory_adapters.ldap import LdapDirectory  # noqa: E402
from directory_adapters.mapping import AttributeMapping  # noqa: E402
from directory_adapters.survey import survey  # noqa: E402
from tests.ldap.server import Slapd, find_program, missing_programs  # noqa: E402

UAI = "0441234A"
MODES = ("durable", "dbnosync")


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
    parser.add_argument("--attempts", type=int, default=3, help="write runs per method and mode")
    parser.add_argument("--modes", default=",".join(MODES), help="durable, dbnosync or both")
    parser.add_argument(
        "--writes-only", action="store_true", help="skip the search and load figures"
    )
    args = parser.parse_args()
    modes = [mode.strip() for mode in args.modes.split(",") if mode.strip()]
    if not set(modes) <= set(MODES):
        parser.error(f"--modes: choose among {', '.join(MODES)}")
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
        # Loaded once, never started: every server below starts on a copy of it.
        loaded = Slapd(folder / "loaded", ldif, tls=False, durable=True, maxsize=4 << 30)
        start = time.perf_counter()
        loaded.load()
        print(f"slapadd -q: {time.perf_counter() - start:.1f} s")
        mapping = AttributeMapping.build(args.preset)
        if not args.writes_only:
            server = loaded.copy(folder / "reading")
            server.start()
            try:
                directory = open_directory(server, mapping)
                print(directory.describe())
                if args.survey:
                    survey_figures(directory)
                search_figures(directory, people, rng, args.queries)
                load_figures(directory)
                directory.close()
            finally:
                server.stop()
                shutil.rmtree(server.workdir, ignore_errors=True)
        changes = write_changes(people, mapping, rng, args.writes)
        for mode in modes:
            write_figures(loaded, folder, mapping, changes, mode, args.attempts)
    return 0


def open_directory(server: Slapd, mapping: AttributeMapping) -> LdapDirectory:
    return LdapDirectory(
        {
            "url": server.url,
            "bind_dn": server.service_dn,
            "password": server.service_password,
            "base_dn": server.people_dn,
        },
        mapping,
    )


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


def write_changes(
    people: list, mapping: AttributeMapping, rng: random.Random, count: int
) -> list[tuple[IdentifierChange, bool]]:
    """`count` new identifiers, on accounts holding none for their establishment; with
    each, whether its entry lacks the auxiliary class (the LDIF writer gives the class
    only to entries that hold an identifier)."""
    alphabet = string.ascii_uppercase + string.digits
    form = mapping.form
    changes = []
    for person in people:
        if len(changes) >= count:
            break
        if not person.uais or form.idpns_for(person.idpronote, person.uais[0]):
            continue
        idpn = "".join(rng.choice(alphabet) for _ in range(16))
        change = IdentifierChange(person.login, person.uais[0], ChangeKind.ADD, idpn=idpn)
        changes.append((change, bool(mapping.object_class) and not person.idpronote))
    return changes


def changes_ldif(mapping: AttributeMapping, changes: list[tuple[IdentifierChange, bool]]) -> str:
    """The modifications `apply` makes for these changes, as ldapmodify reads them."""
    attribute = mapping.identifier_attribute
    parts = []
    for change, add_class in changes:
        value = mapping.form.format(change.uai, change.idpn or "")
        text = line("dn", person_dn(change.login)) + "changetype: modify\n"
        if add_class:
            text += f"add: objectClass\n{line('objectClass', mapping.object_class)}-\n"
        parts.append(text + f"add: {attribute}\n{line(attribute, value)}-\n\n")
    return "".join(parts)


def write_figures(
    loaded: Slapd,
    folder: Path,
    mapping: AttributeMapping,
    changes: list[tuple[IdentifierChange, bool]],
    mode: str,
    attempts: int,
) -> None:
    ldif = folder / "changes.ldif"
    ldif.write_text(changes_ldif(mapping, changes), encoding="utf-8")
    # ldapmodify reads the password from a file: never on a command line.
    password = folder / "password"
    password.write_text(loaded.service_password, encoding="utf-8")
    password.chmod(0o600)
    best = {"idpronote": math.inf, "ldapmodify": math.inf}
    print(f"writes, {mode}: {len(changes)} identifiers, each method on a fresh server")
    for attempt in range(1, attempts + 1):
        for method in best:
            server = loaded.copy(folder / f"{mode}-{attempt}-{method}", durable=mode == "durable")
            server.start()
            try:
                if method == "idpronote":
                    spent, detail = write_with_idpronote(server, mapping, changes)
                else:
                    spent, detail = write_with_ldapmodify(server, ldif, password)
            finally:
                server.stop()
                shutil.rmtree(server.workdir, ignore_errors=True)
            best[method] = min(best[method], spent)
            print(f"  attempt {attempt}, {method}: {spent:.2f} s{detail}")
    load = ", ".join(f"{n:.2f}" for n in os.getloadavg())
    print(
        f"writes {len(changes)}: idpronote {best['idpronote']:.2f} s, "
        f"ldapmodify {best['ldapmodify']:.2f} s, "
        f"ratio {best['idpronote'] / best['ldapmodify']:.2f} "
        f"({mode}, best of {attempts}; load average {load})"
    )


def write_with_idpronote(
    server: Slapd, mapping: AttributeMapping, changes: list[tuple[IdentifierChange, bool]]
) -> tuple[float, str]:
    directory = open_directory(server, mapping)
    try:
        batch = [change for change, _ in changes]
        start = time.perf_counter()
        outcomes = directory.apply(batch)
        spent = time.perf_counter() - start
        applied = sum(outcome.wrote for outcome in outcomes)
        failures = ", ".join(sorted({o.failure for o in outcomes if o.failure}))
        start = time.perf_counter()
        replayed = directory.apply(batch)
        replay = time.perf_counter() - start
        unchanged = sum(o.applied and not o.wrote for o in replayed)
    finally:
        directory.close()
    detail = (
        f" ({applied}/{len(batch)} written"
        + (f", failures: {failures}" if failures else "")
        + f"; replay {replay:.2f} s, {unchanged} already in effect)"
    )
    return spent, detail


def write_with_ldapmodify(server: Slapd, ldif: Path, password: Path) -> tuple[float, str]:
    command = [
        find_program("ldapmodify") or "ldapmodify",
        "-x",
        "-H",
        server.url,
        "-D",
        server.service_dn,
        "-y",
        str(password),
        "-f",
        str(ldif),
    ]
    start = time.perf_counter()
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, env={**os.environ, "LDAPNOINIT": "1"}
    )
    spent = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"ldapmodify failed ({done.returncode}): {done.stderr[-2000:]}")
    return spent, ""


if __name__ == "__main__":
    sys.exit(main())
