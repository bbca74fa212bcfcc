"""What `idpronote setup` writes: checked before writing, private, merged, secrets kept apart."""

from __future__ import annotations

import stat
import tomllib

import pytest

from core.config import Config, read_config
from core.config_file import (
    SetupAnswers,
    default_target,
    read_existing,
    setup_table,
    write_config,
    write_password_file,
)
from core.errors import ConfigError
from core.model import Category

PASSWORD = "s3cret-Pa55"  # noqa: S105 - a test value
VARIABLE = "MY_LDAP_PW"


def ldap_answers(**kw) -> SetupAnswers:
    values = {
        "kind": "ldap",
        "preset": "esco",
        "url": "ldaps://ldap.example.org",
        "bind_dn": "cn=idpronote,ou=services,dc=example,dc=org",
        "base_dn": "ou=people,dc=example,dc=org",
    }
    values.update(kw)
    return SetupAnswers(**values)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_ldap_answers_with_the_password_in_an_environment_variable(tmp_path):
    table = setup_table(ldap_answers(keep_in="env", password_env=VARIABLE))
    assert table["directory"]["kind"] == "ldap"
    assert table["directory"]["preset"] == "esco"
    assert table["directory"]["ldap"] == {
        "url": "ldaps://ldap.example.org",
        "bind_dn": "cn=idpronote,ou=services,dc=example,dc=org",
        "password_env": VARIABLE,
        "base_dn": "ou=people,dc=example,dc=org",
    }
    path = tmp_path / "config.toml"
    assert write_config(path, table) == path
    assert mode(path) == 0o600
    config = read_config(path)
    assert config.directory.ldap["password_env"] == VARIABLE
    assert "password" not in config.directory.ldap


def test_several_urls_and_bases(tmp_path):
    table = setup_table(
        ldap_answers(
            url="ldaps://a.example.org ldaps://b.example.org", base_dn="ou=a,o=x; ou=b,o=x"
        )
    )
    ldap = table["directory"]["ldap"]
    assert ldap["url"] == ["ldaps://a.example.org", "ldaps://b.example.org"]
    assert ldap["base_dn"] == ["ou=a,o=x", "ou=b,o=x"]
    write_config(tmp_path / "c.toml", table)


def test_the_password_goes_into_the_file_only_when_asked(tmp_path):
    path = tmp_path / "config.toml"
    table = setup_table(ldap_answers(keep_in="config"))
    write_config(path, table)
    assert PASSWORD not in path.read_text()
    write_config(path, table, password=PASSWORD)
    assert read_config(path).directory.ldap["password"] == PASSWORD
    assert mode(path) == 0o600
    # The backup of the previous file is private too.
    assert mode(tmp_path / "config.toml.bak") == 0o600


def test_a_password_file_is_created_private_and_never_overwritten(tmp_path):
    where = tmp_path / "secrets" / "ldap-password"
    assert write_password_file(where, PASSWORD)
    assert mode(where) == 0o600
    assert where.read_text() == PASSWORD + "\n"
    assert not write_password_file(where, "another")
    assert where.read_text() == PASSWORD + "\n"
    table = setup_table(ldap_answers(keep_in="file", password_file=str(where)))
    assert table["directory"]["ldap"]["password_file"] == str(where)
    assert "password" not in table["directory"]["ldap"]


def test_prompt_and_anonymous_keep_no_password_source():
    ldap = setup_table(ldap_answers(keep_in="prompt"))["directory"]["ldap"]
    assert not {"password", "password_env", "password_file"} & set(ldap)
    ldap = setup_table(ldap_answers(bind_dn=""))["directory"]["ldap"]
    assert "bind_dn" not in ldap and "password_env" not in ldap


def test_what_setup_does_not_own_is_kept(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(
        '# my comments\nlanguage = "en"\n[matching]\nfuzzy_threshold = 90\n'
        '[keys]\n"step.validate" = "v,f9"\n[directory]\nkind = "csv"\npath = "old.csv"\n'
        '[directory.fields]\nlogin = "uid"\n[profiles]\npersonnels = ["X"]\n',
        encoding="utf-8",
    )
    answers = ldap_answers(profiles={Category.ENSEIGNANTS: ("ENS", "National_ENS")})
    backup = write_config(path, setup_table(answers, read_existing(path)))
    assert backup == tmp_path / "config.toml.bak"
    assert "# my comments" in backup.read_text()
    config = read_config(path)
    assert config.language == "en"
    assert config.matching.fuzzy_threshold == 90
    assert config.keys == {"step.validate": "v,f9"}
    assert config.directory.kind == "ldap" and config.directory.path is None
    assert config.directory.fields == {"login": "uid"}
    assert config.profiles.profiles_of(Category.ENSEIGNANTS) == ("ENS", "National_ENS")
    assert config.profiles.profiles_of(Category.PERSONNELS) == ("X",)
    assert "config.toml.bak" in path.read_text()


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        (SetupAnswers(kind="csv"), "directory file"),
        (ldap_answers(url=""), "URL"),
        (ldap_answers(base_dn=""), "search base"),
        (ldap_answers(keep_in="env", password_env=f"{VARIABLE} X"), "environment variable"),
        (ldap_answers(keep_in="file", password_file=""), "password file"),
    ],
)
def test_incomplete_answers_are_refused_before_anything_is_written(answers, message):
    with pytest.raises(ConfigError, match=message):
        setup_table(answers)


def test_an_invalid_document_is_refused_and_nothing_is_written(tmp_path):
    path = tmp_path / "config.toml"
    table = setup_table(ldap_answers())
    table["directory"]["ldap"]["start_tls"] = True  # with ldaps: the LDAP adapter refuses it,
    table["matching"] = {"fuzzy_threshold": 12}  # and the config reader refuses this
    with pytest.raises(ConfigError, match="fuzzy_threshold"):
        write_config(path, table)
    assert not path.exists()


def test_a_broken_existing_file_is_reported_not_overwritten(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[directory\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        read_existing(path)
    assert read_existing(tmp_path / "none.toml") == {}


def test_default_target(tmp_path, monkeypatch):
    monkeypatch.delenv("IDPRONOTE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert default_target(Config(), "here.toml").name == "here.toml"
    in_use = tmp_path / "in-use.toml"
    assert default_target(Config(source=in_use)) == in_use
    assert default_target(Config()) == tmp_path / "xdg" / "idpronote" / "config.toml"
    monkeypatch.setenv("IDPRONOTE_CONFIG", str(tmp_path / "env.toml"))
    assert default_target(Config(source=in_use)) == tmp_path / "env.toml"


def test_written_files_are_toml_the_reader_accepts(tmp_path):
    path = tmp_path / "config.toml"
    write_config(path, setup_table(SetupAnswers(kind="csv", path=str(tmp_path / "a.csv"))))
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# idpronote configuration, written by `idpronote setup`")
    assert tomllib.loads(text)["directory"] == {
        "kind": "csv",
        "path": str(tmp_path / "a.csv"),
        "preset": "ent",
    }


def test_setup_keeps_the_provider_and_the_directorys_lock(tmp_path):
    """Issue 18: the screen does not ask for them; setup keeps them as the file had them."""
    path = tmp_path / "config.toml"
    path.write_text(
        '[directory]\nkind = "ldap"\n[directory.ldap]\nurl = "ldaps://old.example.org"\n'
        'write_url = "ldaps://master.example.org"\nlock_base = "ou=locks,dc=example,dc=org"\n'
        'lock_lease = 120\nbase_dn = "ou=old,dc=example,dc=org"\n',
        encoding="utf-8",
    )
    write_config(path, setup_table(ldap_answers(url="ldaps://ro.example.org"), read_existing(path)))
    ldap = read_config(path).directory.ldap
    assert ldap["url"] == "ldaps://ro.example.org"
    assert ldap["base_dn"] == "ou=people,dc=example,dc=org"
    assert (ldap["write_url"], ldap["lock_base"], ldap["lock_lease"]) == (
        "ldaps://master.example.org",
        "ou=locks,dc=example,dc=org",
        120,
    )
    # A setup that starts from nothing writes none of them.
    fresh = setup_table(ldap_answers())["directory"]["ldap"]
    assert not {"write_url", "lock_base", "lock_lease"} & set(fresh)
