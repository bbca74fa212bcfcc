"""Several establishments on one test directory: the demo school, cloned under other UAIs.

Each clone has its own logins (a suffix), its own UAI in the directory and in
its identifiers file, and the same people otherwise, so that an import of any
of them recognises as much as an import of the demo does.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from bench.datagen import uai_check_letter
from bench.ldap_data import read_annuaire, to_ldif

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "tui" / "demo"
DEMO_UAI = "0441234A"


def school_uai(k: int) -> str:
    digits = f"{451000 + k:07d}"
    return digits + uai_check_letter(digits)


def schools(count: int, folder: Path) -> tuple[str, dict[str, Path]]:
    """The LDIF of `count` establishments, and each one's identifiers file (written
    into `folder`), by UAI."""
    people = list(read_annuaire(DEMO / "annuaire.csv"))
    text = (DEMO / "identifiants.xml").read_text(encoding="utf-8")
    folder.mkdir(parents=True, exist_ok=True)
    everyone = []
    files = {}
    for k in range(count):
        uai, suffix = school_uai(k), f".s{k}"
        for person in people:
            everyone.append(
                dataclasses.replace(
                    person,
                    login=person.login + suffix,
                    uais=tuple(uai if u == DEMO_UAI else u for u in person.uais),
                    eleves=tuple(e + suffix for e in person.eleves),
                    idpronote=tuple(v.replace(DEMO_UAI, uai) for v in person.idpronote),
                )
            )
        clone = text.replace(f'UAI="{DEMO_UAI}"', f'UAI="{uai}"')
        clone = re.sub(r'IdentifiantCAS="([^"]+)"', rf'IdentifiantCAS="\1{suffix}"', clone)
        path = folder / f"{uai}.xml"
        path.write_text(clone, encoding="utf-8")
        files[uai] = path
    return to_ldif(everyone, "ent"), files
