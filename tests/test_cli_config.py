"""`idpronote config show` and `config check` on files (LDAP: tests/ldap/test_ldap_setup.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cli.main import main

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "tui" / "demo" / "annuaire.csv"
PASSWORD = "Zq9-very-private"  # noqa: S105 - a test value


@pytest.fixture(autouse=True)
def no_site_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IDPRONOTE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def settings_of(out: str) -> dict[str, dict]:
    return {row["key"]: row for row in json.loads(out)["settings"]}


def test_show_without_a_file_lists_the_defaults_and_where_it_looked(capsys):
    code, out, _ = run(["config", "show"], capsys)
    assert code == 0
    assert "aucun fichier trouvé" in out and "config.toml" in out
    code, out, _ = run(["config", "show", "--format", "json"], capsys)
    rows = settings_of(out)
    assert json.loads(out)["config"] is None
    assert rows["matching.fuzzy_threshold"] == {
        "key": "matching.fuzzy_threshold",
        "value": 80,
        "from": "par défaut",
    }
    assert rows["directory.fields.login"]["value"] == "uid"
    assert rows["directory.fields.login"]["from"] == "préréglage ent"


def test_show_says_where_each_value_comes_from_and_masks_secrets(tmp_path, capsys, monkeypatch):
    (tmp_path / "config.toml").write_text(
        "[directory]\n"
        'kind = "ldap"\n'
        'preset = "esco"\n'
        "[directory.ldap]\n"
        'url = "ldaps://ldap.example.org"\n'
        'bind_dn = "cn=idpronote,dc=example,dc=org"\n'
        f'password = "{PASSWORD}"\n'
        'base_dn = "dc=example,dc=org"\n'
        "[directory.fields]\n"
        'nom = "surnameAttr"\n'
        "[matching]\n"
        "fuzzy_margin = 15\n",
        encoding="utf-8",
    )
    (tmp_path / "config.toml").chmod(0o600)  # it holds a password: others may not read it
    for fmt in ("text", "json"):
        code, out, err = run(["config", "show", "--format", fmt, "--lang", "en"], capsys)
        assert code == 0 and PASSWORD not in out + err
    rows = settings_of(out)
    assert rows["directory.kind"] == {
        "key": "directory.kind",
        "value": "ldap",
        "from": "config.toml, line 2",
    }
    assert rows["directory.ldap.password"]["value"] == "*** (set)"
    assert rows["directory.fields.nom"]["from"] == "config.toml, line 10"
    assert rows["directory.fields.prenom"]["from"] == "preset esco"
    assert rows["directory.identifier.attribute"]["value"] == "ESCOPersonExternalIds"
    assert rows["matching.fuzzy_margin"]["value"] == 15
    assert rows["matching.fuzzy_threshold"]["from"] == "default"
    assert rows["language"]["from"] == "command line"


def test_show_tells_whether_the_password_variable_is_set(tmp_path, capsys, monkeypatch):
    (tmp_path / "config.toml").write_text(
        '[directory.ldap]\nbind_dn = "cn=x"\npassword_env = "IDP_TEST_PW"\n', encoding="utf-8"
    )
    monkeypatch.delenv("IDP_TEST_PW", raising=False)
    _, out, _ = run(["config", "show", "--lang", "en"], capsys)
    assert "IDP_TEST_PW (NOT set in the environment)" in out
    monkeypatch.setenv("IDP_TEST_PW", PASSWORD)
    _, out, _ = run(["config", "show", "--lang", "en"], capsys)
    assert "IDP_TEST_PW (set in the environment)" in out and PASSWORD not in out


def test_an_invalid_file_is_one_line_with_file_line_and_key(tmp_path, capsys):
    (tmp_path / "config.toml").write_text("[matching]\nfuzzy_threshold = 5\n", encoding="utf-8")
    code, out, err = run(["config", "check"], capsys)
    assert code == 2 and out == ""
    assert "config.toml, ligne 2 : matching.fuzzy_threshold" in err
    assert "Traceback" not in err


def test_check_without_a_directory_leads_to_setup(capsys):
    code, out, _ = run(["config", "check", "--lang", "en"], capsys)
    assert code == 1
    assert "no directory configured" in out and "idpronote setup" in out


def test_check_on_the_demo_csv(tmp_path, capsys):
    shutil.copy(DEMO, tmp_path / "annuaire.csv")
    code, out, _ = run(
        ["config", "check", "--directory-file", "annuaire.csv", "--format", "json"], capsys
    )
    report = json.loads(out)
    assert report["usable"] is True
    survey = report["survey"]
    assert survey["total"] == 350
    assert survey["profiles"]["National_ELV"] > 100
    assert survey["write"]["status"] == "writable"
    assert survey["sample"]["login"]
    assert code == (0 if report["ok"] else 1)
    code, out, _ = run(["config", "check", "--directory-file", "annuaire.csv"], capsys)
    assert "Compte exemple, tel que lu" in out


def test_check_names_a_profile_that_matches_no_account(tmp_path, capsys):
    shutil.copy(DEMO, tmp_path / "annuaire.csv")
    (tmp_path / "config.toml").write_text(
        '[directory]\nkind = "csv"\npath = "annuaire.csv"\n[profiles]\nenseignants = ["Teacher"]\n',
        encoding="utf-8",
    )
    code, out, _ = run(["config", "check", "--format", "json", "--lang", "en"], capsys)
    assert code == 1
    report = json.loads(out)
    warning = next(f for f in report["findings"] if "Teacher" in f["message"])
    assert warning["level"] == "warning"
    assert "National_ENS" in warning["hint"]  # what the directory does hold
