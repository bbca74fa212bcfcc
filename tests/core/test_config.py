"""config.toml: the lookup order, and one clear message per invalid key or value."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import load_config, read_config
from core.errors import ConfigError
from core.model import Category

ROOT = Path(__file__).resolve().parents[2]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_config_is_valid():
    config = read_config(ROOT / "config.toml")
    assert config.language == "fr"
    # The identifier's attribute and form are the preset's unless the site says otherwise:
    # a shipped value here would silently override the esco preset's.
    assert config.directory.value_form is None
    assert config.directory.identifier_attribute is None
    from directory_adapters.mapping import AttributeMapping

    assert AttributeMapping.from_settings(config.directory).form.template == "{uai}${idpn}"


def test_lookup_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IDPRONOTE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert load_config().source is None  # nothing anywhere: defaults
    user = write(tmp_path / "xdg" / "idpronote" / "config.toml", 'language = "en"\n')
    assert load_config().source == user
    cwd = write(tmp_path / "config.toml", 'language = "fr"\n')
    assert load_config().source == cwd
    env = write(tmp_path / "env.toml", "")
    monkeypatch.setenv("IDPRONOTE_CONFIG", str(env))
    assert load_config().source == env
    explicit = write(tmp_path / "explicit.toml", "")
    assert load_config(explicit).source == explicit


def test_explicit_or_env_config_must_exist(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")
    monkeypatch.setenv("IDPRONOTE_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match="not found"):
        load_config()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('langage = "fr"\n', r"line 1: langage: unknown key"),
        ('language = "de"\n', r"line 1: language: must be one of fr, en"),
        ("language = 3\n", r"language: must be a string"),
        ('[directory]\nkind = "oracle"\n', r"line 2: directory.kind: must be one of ldap, csv"),
        ('[directory]\nkind = "csv"\n', r"directory.path: is required"),
        ('[directory]\npreset = "x"\n', r"directory.preset: must be one of ent"),
        ('[directory.fields]\nlogn = "uid"\n', r"line 2: directory.fields.logn: unknown key"),
        ('[directory.fields]\nlogin = ""\n', r"directory.fields.login: must not be empty"),
        ('[directory.identifier]\nvalue = "{uai}"\n', r"directory.identifier.value: .*\{idpn\}"),
        ('[directory.ldap]\nstart_tls = "yes"\n', r"directory.ldap.start_tls: must be true/false"),
        ("[directory.ldap]\ntimeout = true\n", r"directory.ldap.timeout: must be a number"),
        ("[profiles]\nprofs = []\n", r"profiles.profs: unknown key; allowed here: eleves"),
        ("[profiles]\neleves = [1]\n", r"profiles.eleves: must be a list of strings"),
        ("[file]\nmax_size_mb = 0\n", r"file.max_size_mb: must be between 1 and 1024"),
        ('[file.elements]\neleve = "X"\n', r"file.elements.eleve: unknown key"),
        ("language = \n", r"not valid TOML"),
    ],
)
def test_invalid_values_name_file_line_key_and_what_is_allowed(tmp_path, text, message):
    path = write(tmp_path / "config.toml", text)
    with pytest.raises(ConfigError, match=message) as caught:
        read_config(path)
    assert str(path) in str(caught.value)


def test_values_are_applied(tmp_path):
    path = write(
        tmp_path / "config.toml",
        """
language = "en"
data_dir = "data"
[directory]
kind = "csv"
path = "annuaire.csv"
[directory.fields]
login = "uid"
[directory.identifier]
value = "PRONOTE${idpn}"
[profiles]
eleves = "ELEVE"
[file]
max_size_mb = 5
[file.elements]
eleves = ["Apprenant"]
[file.fields]
idpn = ["IdentPronote"]
""",
    )
    config = read_config(path)
    assert config.language == "en"
    assert config.data_dir == tmp_path / "data"
    assert config.directory.path == tmp_path / "annuaire.csv"
    assert config.directory.fields == {"login": "uid"}
    assert config.directory.value_form == "PRONOTE${idpn}"
    assert config.profiles.profiles_of(Category.ELEVES) == ("ELEVE",)
    assert config.profiles.profiles_of(Category.ENSEIGNANTS) == ("National_ENS",)
    assert config.file_schema.max_size_mb == 5
    assert config.file_schema.category_of("apprenant") is Category.ELEVES
    assert config.file_schema.category_of("eleve") is Category.ELEVES
    assert config.file_schema.field_of("identpronote") == "idpn"


def test_keys_remap_bindings_but_never_to_terminal_traps(tmp_path):
    config = read_config(write(tmp_path / "c.toml", '[keys]\n"step.validate" = "f5, v"\n'))
    assert config.keys == {"step.validate": "f5,v"}
    with pytest.raises(ConfigError, match=r"line 2.*ctrl\+b"):
        read_config(write(tmp_path / "d.toml", '[keys]\n"step.validate" = "ctrl+b"\n'))


def test_the_partner_key_settings(tmp_path):
    path = write(
        tmp_path / "site" / "config.toml",
        '[file]\npartner_key = "keys/partner.pem"\npartner_name = "MONENT"\n'
        'partner_key_password_env = "PARTNER_PASS"\n',
    )
    partner = read_config(path).file_schema.partner
    assert partner.path == tmp_path / "site" / "keys" / "partner.pem"  # relative to the file
    assert (partner.name, partner.password_env) == ("MONENT", "PARTNER_PASS")
    assert read_config(ROOT / "config.toml").file_schema.partner.path is None
    bad = write(tmp_path / "bad.toml", '[file]\npartner_key_password_env = "my pass"\n')
    with pytest.raises(
        ConfigError, match=r"line 2: file.partner_key_password_env: must be the name"
    ):
        read_config(bad)


def test_the_presets_config_accepts_are_the_adapters_presets():
    # core may not import the adapters (docs/ARCHITECTURE.md), so config.py names the
    # presets again to check a file with its line numbers: the two lists must agree.
    from core.config import PRESETS
    from directory_adapters.mapping import PRESETS as DEFINED

    assert PRESETS == tuple(DEFINED)
