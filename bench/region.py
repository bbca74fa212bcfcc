"""A region's rentrée: `idpronote batch` over 100 collèges in one slapd, --jobs 1 and 2.

    .venv/bin/python bench/region.py [--colleges 100] [--students 600] [--jobs 1,2]
                                     [--no-durable] [--keep DIR]

Generates `--colleges` collèges of `--students` students with
`bench/datagen.py` (each its own UAI, seed and logins, the hard cases of real
schools included), one identifiers file per collège (`fichiers/<UAI>.xml`)
and all their accounts in one directory (about 1,800 a collège: 180,000 for
100), turned into LDIF (`bench/ldap_data.py`, the `ent` preset) and loaded
with `slapadd -q` into a private slapd (tests/ldap/server.py; mdb syncs
every commit unless `--no-durable`). Then, for each `--jobs` value, on a
freshly loaded server and a fresh data directory,
`idpronote batch fichiers --jobs N --format json` in a child process, and
prints:

- the wall time of the whole batch;
- the median (and slowest) establishment, from the report's `seconds`;
- the peak memory of the batch process (its RSS high-water mark: jobs are
  threads of that one process, so it covers every job);
- writes per second: identifiers written and removed, over the wall time.

Printed, never asserted. Needs OpenLDAP's slapd and slapadd.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import wait_measured, work_folder  # noqa: E402
from bench.datagen import CSV_HEADER, generate, uai_check_letter  # noqa: E402
from bench.ldap_data import read_annuaire, write_ldif  # noqa: E402


@dataclass
class Region:
    """What `build_region` wrote: the files folder, the directory CSV, the UAIs."""

    files: Path
    directory: Path
    uais: list[str]
    accounts: int


def college_uai(number: int) -> str:
    """The UAI of the region's collège `number` (0441000Y, 0441001Z, …)."""
    digits = f"0{44 + number // 9000:02d}{1000 + number % 9000:04d}"
    return digits + uai_check_letter(digits)


def build_region(folder: Path, colleges: int, students: int, *, seed: int = 1) -> Region:
    """`colleges` collèges: `files/<UAI>.xml` each, and one `annuaire.csv` for them all."""
    folder = Path(folder)
    files = folder / "fichiers"
    files.mkdir(parents=True, exist_ok=True)
    directory = folder / "annuaire.csv"
    uais = []
    accounts = 0
    with directory.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter=";", lineterminator="\n")
        writer.writerow(CSV_HEADER)
        for number in range(colleges):
            uai = college_uai(number)
            work = folder / "work" / uai
            generate(
                work,
                seed=seed + number,
                students=students,
                uai=uai,
                name=f"Collège n°{number + 1}",
                login_suffix=f".{number + 1:03d}",
            )
            (work / "identifiants.xml").replace(files / f"{uai}.xml")
            with (work / "annuaire.csv").open(encoding="utf-8", newline="") as source:
                rows = list(csv.reader(source, delimiter=";"))[1:]
            writer.writerows(rows)
            accounts += len(rows)
            shutil.rmtree(work)
            uais.append(uai)
    shutil.rmtree(folder / "work", ignore_errors=True)
    return Region(files, directory, uais, accounts)


def write_config(path: Path, url: str, data_dir: Path) -> None:
    from tests.ldap.server import Slapd

    path.write_text(
        f'data_dir = "{data_dir}"\n[directory]\nkind = "ldap"\npreset = "ent"\n'
        f'[directory.ldap]\nurl = "{url}"\nbind_dn = "{Slapd.service_dn}"\n'
        f'password_env = "IDPRONOTE_BENCH_PASSWORD"\nbase_dn = "{Slapd.people_dn}"\n'
        "timeout = 60\n",
        encoding="utf-8",
    )
    os.chmod(path, 0o600)


def run_batch(folder: Path, files: Path, url: str, jobs: int) -> dict:
    """One `idpronote batch` in a child process: its report, wall time and peak RSS."""
    from tests.ldap.server import Slapd

    data_dir = folder / f"data-jobs{jobs}"
    config = folder / f"config-jobs{jobs}.toml"
    write_config(config, url, data_dir)
    report = folder / f"report-jobs{jobs}.json"
    env = {**os.environ, "IDPRONOTE_CONFIG": str(config), "PYTHONPATH": str(ROOT),
           "IDPRONOTE_BENCH_PASSWORD": Slapd.service_password,
           "XDG_STATE_HOME": str(folder / "state")}  # fmt: skip
    argv = [sys.executable, "-m", "tui", "batch", str(files), "--jobs", str(jobs),
            "--format", "json", "--output", str(report)]  # fmt: skip
    started = time.perf_counter()
    child = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert child.stderr is not None
    for _line in child.stderr:
        pass  # the progress lines; read so the pipe never fills
    wall, mib = wait_measured(child, started)
    data = json.loads(report.read_text(encoding="utf-8"))
    return {"wall": wall, "rss_mib": mib, "exit": child.returncode,
            "report": data}  # fmt: skip


def figures(jobs: int, run: dict) -> str:
    report = run["report"]
    rows = report["establishments"]
    seconds = sorted(r["seconds"] for r in rows)
    outcomes, counts = report["summary"]["outcomes"], report["summary"]["counts"]
    writes = counts["written"]
    return (
        f"batch --jobs {jobs}: {len(rows)} establishments in {run['wall']:.1f} s (exit "
        f"{run['exit']}: {outcomes['completed']} done, {outcomes['left_for_human']} left for a "
        f"human, {outcomes['failed']} failed); per establishment median "
        f"{statistics.median(seconds):.2f} s, slowest {seconds[-1]:.2f} s; peak RSS "
        f"{run['rss_mib']:.0f} MiB; {writes} identifiers written ({counts['removed']} of "
        f"them removals), {writes / run['wall']:.0f} writes/s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--colleges", type=int, default=100)
    parser.add_argument("--students", type=int, default=600)
    parser.add_argument("--jobs", default="1,2", help="the --jobs values to run, e.g. 1,2")
    parser.add_argument(
        "--no-durable", action="store_true", help="slapd does not sync each commit (dbnosync)"
    )
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    from tests.ldap.server import Slapd, missing_programs

    missing = missing_programs()
    if missing:
        print(f"needs OpenLDAP: {', '.join(missing)} not found (make slapd)", file=sys.stderr)
        return 2
    jobs = [int(j) for j in args.jobs.split(",") if j.strip()]
    with work_folder(args.keep, "idpronote-region-") as folder:
        start = time.perf_counter()
        region = build_region(folder, args.colleges, args.students)
        ldif = folder / "annuaire.ldif"
        write_ldif(read_annuaire(region.directory), ldif, "ent")
        print(
            f"generated {args.colleges} collèges of {args.students} students: "
            f"{region.accounts} accounts, {ldif.stat().st_size / 2**20:.0f} MiB of LDIF, in "
            f"{time.perf_counter() - start:.1f} s"
        )
        for n in jobs:
            # A fresh server for each run, loaded from the same LDIF (slapadd -q): a copy
            # of mdb's sparse map file would cost more than the load.
            server = Slapd(folder / f"slapd-jobs{n}", ldif, tls=False,
                           durable=not args.no_durable, maxsize=4 << 30)  # fmt: skip
            start = time.perf_counter()
            server.load()
            print(f"slapadd -q: {time.perf_counter() - start:.1f} s", flush=True)
            server.start()
            try:
                run = run_batch(folder, region.files, server.url, n)
            finally:
                server.stop()
                shutil.rmtree(server.workdir, ignore_errors=True)
            print(figures(n, run), flush=True)
        load = os.getloadavg()
        print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; {os.cpu_count()} cores; "
              f"slapd {'durable' if not args.no_durable else 'dbnosync'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
