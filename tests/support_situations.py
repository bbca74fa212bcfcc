"""The FAQ situations of the support desk, built on copies of the demo data.

One directory (CSV, converted to LDIF for slapd by the LDAP tests) holds every
situation at once, each on people of its own, and one identifiers file:

situation (vendors' FAQ)              who                      explain says / fix
no identifier stored                 adam.dubois              not_imported: link
identifier on a duplicate account    adam.clement             stored_on_duplicate: unlink, link
homonym holding the other's id       tom.marchand2            stored_on_other: unlink, link
homonyms nobody can tell apart       ethan.faulibosc          ambiguous: pick (a human)
guardian the import did not know     anne.rivilin             guardian_unrecognised: link
identifier from last year's base     jean-baptiste.labmarieu  stale: link
two Pronote accounts for one person  loic.charles             pronote_duplicate: export again
stored right: CAS does not release   david.durand             ok: check the CAS
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

from core.model import DEFAULT_PROFILES

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "tui" / "demo"
UAI = "0441234A"
ADAM = "BKTX4OCOZO34EQAT"  # adam.clement's Pronote identifier
TOM2 = "4HP2WNBPNZKOX3MN"  # tom.marchand2's (tom.marchand is NSINMNAHUCGZJLI4)
LOIC_DUPLICATE = "I424QZ01DCR51T04"

# who -> (cause, the kinds of the actions that lead to "ok", applied one after the other)
FIXABLE = {
    "adam.dubois": ("not_imported", ["link"]),
    "adam.clement": ("stored_on_duplicate", ["unlink", "link"]),
    "tom.marchand2": ("stored_on_other", ["unlink", "link"]),
    "anne.rivilin": ("guardian_unrecognised", ["link"]),
    "jean-baptiste.labmarieu": ("stale", ["link"]),
}


def annuaire_text() -> str:
    """The demo directory, with a duplicate account of Adam Clément holding his identifier
    and Tom Marchand (2015) holding the identifier of his homonym (2013)."""
    text = (DEMO / "annuaire.csv").read_text(encoding="utf-8")
    tom = "tom.marchand;MARCHAND;Tom;2015-07-02;National_ELV;0441234A;6A;;"
    assert tom + "\n" in text
    text = text.replace(tom + "\n", f"{tom}{UAI}${TOM2}\n")
    return text + f"adam.clement.old;CLÉMENT;Adam;;National_ELV;{UAI};4A;;{UAI}${ADAM}\n"


def write_situations(folder: Path) -> tuple[Path, Path]:
    """annuaire.csv and identifiants.xml of every situation, in `folder`."""
    directory = folder / "annuaire.csv"
    directory.write_text(annuaire_text(), encoding="utf-8")
    export = folder / "identifiants.xml"
    export.write_bytes((DEMO / "identifiants.xml").read_bytes())
    return directory, export


def school_merges_duplicate(export: Path) -> None:
    """The school merged Loïc Charles's two Pronote accounts and exported again."""
    text = export.read_text(encoding="utf-8")
    text = re.sub(rf'\s*<Responsable Ident="740" IDPN="{LOIC_DUPLICATE}"[^>]*/>', "", text)
    text = re.sub(r'\s*<Responsable Ident="740"/>', "", text)
    assert LOIC_DUPLICATE not in text
    export.write_text(text, encoding="utf-8")


def direct_counts(rows: list[dict[str, object]], export: Path | None) -> dict[str, dict]:
    """status's figures, counted straight from the rows (login, profiles, uais, idpronote)."""
    in_file = (
        set(re.findall(r'IDPN="([A-Z0-9]{16})"', export.read_text(encoding="utf-8")))
        if export
        else None
    )
    mine = [r for r in rows if UAI in r["uais"]]
    stored = {r["login"]: [v.split("$", 1)[1] for v in r["idpronote"] if v.startswith(UAI + "$")]
              for r in mine}  # fmt: skip
    holders = Counter(idpn for ids in stored.values() for idpn in ids)
    linked_logins = {login.casefold() for login, ids in stored.items() if ids}
    counts: dict[str, dict] = {}
    for category, profiles in DEFAULT_PROFILES.items():
        wanted = {p.casefold() for p in profiles}
        members = [r for r in mine if any(p.casefold() in wanted for p in r["profiles"])]
        figures = {
            "accounts": len(members),
            "linked": sum(1 for r in members if stored[r["login"]]),
            "unlinked": sum(1 for r in members if not stored[r["login"]]),
            "stored_twice": sum(
                1 for r in members for idpn in stored[r["login"]] if holders[idpn] > 1
            ),
            "obsolete": None
            if in_file is None
            else sum(1 for r in members for idpn in stored[r["login"]] if idpn not in in_file),
        }
        if category.slug == "responsables":
            figures["guardians_children_linked"] = sum(
                1
                for r in members
                if not stored[r["login"]]
                and any(kid.casefold() in linked_logins for kid in r["students"])
            )
        counts[category.slug] = figures
    return counts


def csv_rows(path: Path) -> list[dict[str, object]]:
    """The CSV file's rows, read with the csv module alone."""

    def split(cell: str | None) -> list[str]:
        return [v for v in (cell or "").split("|") if v]

    reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")), delimiter=";")
    return [
        {
            "login": row["login"],
            "profiles": split(row["profil"]),
            "uais": split(row["uai"]),
            "students": split(row["eleves"]),
            "idpronote": split(row["idpronote"]),
        }
        for row in reader
    ]


def ldap_rows(server) -> list[dict[str, object]]:
    """The slapd's person entries, read as the admin with a plain search."""
    structures = {
        dn.lower(): attrs["ENTStructureUAI"][0]
        for dn, attrs in server.search("(ENTStructureUAI=*)", ["ENTStructureUAI"])
    }
    entries = server.search(
        "(uid=*)",
        ["uid", "ENTPersonProfils", "ENTPersonStructRattach", "ENTAuxPersRelEleveEleve",
         "idPronote"],
    )  # fmt: skip
    login_of = {dn.lower(): attrs["uid"][0] for dn, attrs in entries}
    rows = []
    for _dn, attrs in entries:
        rows.append(
            {
                "login": attrs["uid"][0],
                "profiles": attrs.get("ENTPersonProfils", []),
                "uais": [
                    structures.get(v.lower(), v) for v in attrs.get("ENTPersonStructRattach", [])
                ],
                "students": [
                    login_of.get(v.lower(), v) for v in attrs.get("ENTAuxPersRelEleveEleve", [])
                ],
                "idpronote": attrs.get("idPronote", []),
            }
        )
    return rows


class Desk:
    """Runs `idpronote explain` (JSON) and applies its actions until all is well."""

    def __init__(self, main, capsys, argv: list[str]) -> None:
        self.main = main
        self.capsys = capsys
        self.argv = argv

    def run(self, *argv: str) -> tuple[int, str, str]:
        code = self.main([*argv, *self.argv])
        out, err = self.capsys.readouterr()
        assert "Traceback" not in err
        return code, out, err

    def explain(self, who: str, *extra: str) -> tuple[int, dict]:
        code, out, err = self.run("explain", who, "--format", "json", *extra)
        assert code in (0, 1), err
        return code, json.loads(out)

    def fix(self, who: str, limit: int = 4) -> list[str]:
        """Apply the next action until explain says all is well; the kinds applied."""
        applied = []
        for _ in range(limit):
            code, found = self.explain(who)
            if found["cause"] == "ok":
                assert code == 0 and found["action"]["kind"] == "check_cas_release"
                return applied
            kind = found["action"]["kind"]
            assert kind in ("link", "unlink"), found
            code, found = self.explain(who, "--apply", "--yes")
            assert found["applied"]["applied"], found["applied"]
            assert found["applied"]["session"]
            applied.append(kind)
        raise AssertionError(f"{who}: still not fixed after {applied}")


def grouped(rows: list[dict[str, object]]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        for v in r["idpronote"]:
            found[r["login"]].append(v)
    return found
