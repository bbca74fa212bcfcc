"""The project's schema: both forms load into OpenLDAP and say the same thing."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from directory_adapters.mapping import PRESETS
from tests.ldap.conftest import require_slapd
from tests.ldap.server import PROJECT_SCHEMA, SCHEMA_DIRS, find_program

SCHEMA_DIR = PROJECT_SCHEMA.parent


def definitions(text: str) -> list[str]:
    """Every `( OID ... )` definition, whitespace normalised."""
    unfolded = re.sub(r"\n ", "", text)  # LDIF continuation lines
    body = "\n".join(line for line in unfolded.splitlines() if not line.lstrip().startswith("#"))
    found = re.findall(r"\(\s*1\.3\.6\.1\.4\.1\.[^()]*(?:\([^()]*\)[^()]*)*\)", body)
    return [" ".join(d.split()) for d in found]


def test_both_forms_hold_the_same_definitions() -> None:
    schema = definitions(PROJECT_SCHEMA.read_text(encoding="utf-8"))
    ldif = definitions((SCHEMA_DIR / "idpronote.ldif").read_text(encoding="utf-8"))
    assert len(schema) == 2
    assert schema == ldif
    assert "EQUALITY caseIgnoreIA5Match" in schema[0] and "SINGLE-VALUE" not in schema[0]
    assert "AUXILIARY" in schema[1] and "MAY idPronote" in schema[1]


def test_the_placeholder_arc_is_flagged_in_both_forms() -> None:
    for path in (PROJECT_SCHEMA, SCHEMA_DIR / "idpronote.ldif"):
        text = path.read_text(encoding="utf-8")
        assert "PLACEHOLDER" in text and "pen.iana.org" in text, path


def test_the_ldif_loads_into_a_cn_config_server(tmp_path: Path) -> None:
    """slaptest turns a minimal slapd.conf into cn=config; slapadd -n0 adds the schema."""
    require_slapd()
    schema_dir = next(d for d in SCHEMA_DIRS if (d / "core.schema").exists())
    conf = tmp_path / "slapd.conf"
    conf.write_text(f"include {schema_dir / 'core.schema'}\n", encoding="utf-8")
    config_dir = tmp_path / "slapd.d"
    config_dir.mkdir()
    slaptest = find_program("slaptest") or "slaptest"
    slapadd = find_program("slapadd") or "slapadd"

    def run(*command: str) -> None:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr

    run(slaptest, "-f", str(conf), "-F", str(config_dir))
    run(slapadd, "-n0", "-F", str(config_dir), "-l", str(SCHEMA_DIR / "idpronote.ldif"))
    run(slaptest, "-F", str(config_dir))
    loaded = "\n".join(p.read_text() for p in config_dir.rglob("*idpronote*.ldif"))
    assert "entPronoteAccount" in loaded and "idPronote" in loaded


def test_the_readme_gives_each_presets_index_recommendations() -> None:
    readme = (SCHEMA_DIR / "README.md").read_text(encoding="utf-8")
    for preset in PRESETS.values():
        section = readme.split(f"### `{preset.name}`", 1)[1].split("###", 1)[0]
        for index in preset.indexes:
            assert f"index {index}" in section, (preset.name, index)
