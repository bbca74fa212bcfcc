"""The timetable export and its envelope against the reference form, on generated schools.

    .venv/bin/python bench/timetable.py [--seeds 1,2,3] [--students 3000]

For each seed: bench/datagen.py writes one population as PRONOTE's timetable
export (guardians inside their students, IdPN and IDPN, empty dates, the
timetable around them), in the reference form, and in an envelope for a
fresh key. `idpronote inspect` and `idpronote match` run on each, as
processes; the figures printed are the counts (every guardian once?), the
problems (no timetable noise?), whether match's decisions are the same on
both forms, and the wall-clock time and peak memory of each command.
Nothing is asserted: the figures are for the README.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import wait_measured  # noqa: E402
from bench.datagen import generate  # noqa: E402

IDPRONOTE = [sys.executable, "-m", "tui"]


def run(*argv: str) -> tuple[dict, float, float]:
    """The command's JSON, its seconds and its own peak memory (MiB)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        child = subprocess.Popen(
            [*IDPRONOTE, *argv, "--format", "json"], stdout=subprocess.PIPE, stderr=errors, cwd=ROOT
        )
        out = child.stdout.read() if child.stdout else b""
        seconds, mib = wait_measured(child, started)
        if child.returncode not in (0, 1):
            errors.seek(0)
            raise SystemExit(f"{' '.join(argv)}: {errors.read().decode().strip()}")
    return json.loads(out), seconds, mib


def decisions(report: dict) -> dict[str, tuple]:
    found = {}
    for step in report["steps"]:
        for a in step["accounts"]:
            found[a["idpn"]] = (a["status"], a["rule"], a["account"], tuple(a["candidates"]))
        for o in step["obsolete"]:
            found[f"obsolete {o['account']} {o['idpn']}"] = ()
    return found


def one_seed(seed: int, students: int, folder: Path) -> None:
    started = time.perf_counter()
    result = generate(folder, seed=seed, students=students, form="timetable", envelope=True)
    made = time.perf_counter() - started
    truth = json.loads(result.truth.read_text(encoding="utf-8"))
    guardians = sum(1 for r in truth["records"].values() if r["category"] == "responsables")
    text = result.identifiers.read_text(encoding="utf-8")
    occurrences = text.count("<Responsable ")
    elements = text.count("<") - text.count("</") - text.count("<?")
    reference = folder / "identifiants-reference.xml"
    envelope = folder / "identifiants.chiffre.xml"
    key = folder / "partner.pem"
    plain, t_plain, m_plain = run("inspect", str(result.identifiers))
    ref, t_ref, _ = run("inspect", str(reference))
    sealed, t_sealed, m_sealed = run("inspect", str(envelope), "--partner-key", str(key))
    directory = ("--directory-file", str(result.directory))
    match_tt, t_mtt, m_mtt = run("match", str(result.identifiers), *directory)
    match_ref, t_mref, _ = run("match", str(reference), *directory)
    match_env, t_menv, _ = run("match", str(envelope), "--partner-key", str(key), *directory)
    same = decisions(match_tt) == decisions(match_ref) == decisions(match_env)
    counts = plain["counts"]
    print(f"seed {seed}: {students} students, generated in {made:.1f} s")
    print(
        f"  timetable export: {result.identifiers.stat().st_size / 2**20:.1f} MB, "
        f"{elements:,} elements, {occurrences} Responsable occurrences"
    )
    print(
        f"  inspect: teachers {counts['enseignants']}, students {counts['eleves']}, guardians "
        f"{counts['responsables']} (distinct in the truth: {guardians}), staff "
        f"{counts['personnels']}; problems {len(plain['problems'])} "
        f"(reference form: {len(ref['problems'])}); counts equal to the reference form: "
        f"{plain['counts'] == ref['counts']}, to the envelope: {sealed['counts'] == counts}"
    )
    print(
        f"  inspect time: timetable {t_plain:.2f} s ({m_plain:.0f} MiB), reference {t_ref:.2f} s, "
        f"envelope {t_sealed:.2f} s ({m_sealed:.0f} MiB)"
    )
    summary = match_tt["summary"]
    print(
        f"  match: recognised {summary['recognised']}, unrecognised {summary['unrecognised']}, "
        f"obsolete {summary['obsolete']}; same decisions on the three: {same}"
    )
    print(
        f"  match time: timetable {t_mtt:.2f} s ({m_mtt:.0f} MiB), reference {t_mref:.2f} s, "
        f"envelope {t_menv:.2f} s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--students", type=int, default=3000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="idpronote-timetable-") as tmp:
        for seed in (int(s) for s in args.seeds.split(",")):
            one_seed(seed, args.students, Path(tmp) / f"seed{seed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
