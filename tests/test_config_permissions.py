"""A config.toml others can edit, or read while it holds a password: refused by every command.

The decision (core/config_permissions.py): a file that sets where idpronote
connects, authenticates or writes is refused when others can write it (or
its folder), or when its owner is neither the user nor root; a file holding
the password itself is refused when anyone else may read it. The
repository's documented config.toml sets none of those keys and is read as
it is.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from cli.main import main
from core import config_permissions
from core.config import load_config, read_config
from core.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
OTHER_USER = 65534
SERVER = '[directory]\nkind = "ldap"\n[directory.ldap]\nurl = "ldaps://ldap.example.org"\n'
SERVER += 'base_dn = "dc=example,dc=org"\nbind_dn = "cn=idp"\npassword_env = "IDP_PW"\n'
PASSWORD = '[directory.ldap]\nurl = "ldaps://x"\nbase_dn = "dc=x"\npassword = "s3cret"\n'  # noqa: S105 - a test file's
CSV = '[directory]\nkind = "csv"\npath = "annuaire.csv"\n'


@pytest.fixture(autouse=True)
def no_site_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IDPRONOTE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


def config(tmp_path: Path, text: str, mode: int) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def refused(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        read_config(path)
    return str(caught.value)


@pytest.mark.parametrize("text", [SERVER, CSV, 'data_dir = "/srv/x"\n', PASSWORD])
@pytest.mark.parametrize("mode", [0o666, 0o646, 0o602])
def test_a_config_others_can_write_is_refused_as_ssh_does(english, tmp_path, text, mode):
    message = refused(config(tmp_path, text, mode))
    assert "can be changed by users other than its owner" in message
    assert f"chmod go-w {tmp_path / 'config.toml'}" in message


def test_group_writable_is_refused_unless_the_group_is_the_owners_own(english, tmp_path):
    path = config(tmp_path, SERVER, 0o664)
    os.chown(path, -1, OTHER_USER)  # nogroup: nobody's group, not root's own
    assert "chmod go-w" in refused(path)


def test_a_private_group_is_one_only_its_owner_has(monkeypatch):
    from types import SimpleNamespace as Entry

    users = [
        Entry(pw_name="alice", pw_uid=1000, pw_gid=1000),
        Entry(pw_name="bob", pw_uid=1001, pw_gid=100),
    ]
    groups = {
        1000: Entry(gr_mem=[]),
        100: Entry(gr_mem=["bob"]),
        200: Entry(gr_mem=["alice", "bob"]),
    }
    import grp
    import pwd

    monkeypatch.setattr(pwd, "getpwall", lambda: users)
    monkeypatch.setattr(pwd, "getpwuid", lambda uid: next(u for u in users if u.pw_uid == uid))
    monkeypatch.setattr(grp, "getgrgid", lambda gid: groups[gid])
    assert config_permissions.private_group(1000, 1000)  # alice's user private group
    assert not config_permissions.private_group(100, 1000)  # bob's
    assert not config_permissions.private_group(200, 1000)  # shared
    assert config_permissions.private_group(100, 1001)


def test_a_config_of_another_user_naming_the_server_is_refused(english, tmp_path):
    path = config(tmp_path, SERVER, 0o644)
    os.chown(path, OTHER_USER, OTHER_USER)
    message = refused(path)
    assert "belongs to nobody" in message and "chown root" in message


def test_a_config_in_a_folder_others_can_write_is_refused(english, tmp_path):
    folder = tmp_path / "open"
    folder.mkdir()
    folder.chmod(0o777)
    path = config(folder, SERVER, 0o644)
    assert "where other users can replace it" in refused(path)
    folder.chmod(0o1777)  # sticky, like /tmp: only the owner may replace it
    assert read_config(path).directory.kind == "ldap"


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o610])
def test_a_password_others_can_read_is_refused_with_the_chmod(english, tmp_path, mode):
    message = refused(config(tmp_path, PASSWORD, mode))
    assert "holds the LDAP password and other users can read it" in message
    assert f"chmod 600 {tmp_path / 'config.toml'}" in message
    assert "s3cret" not in message


def test_what_is_allowed_is_read_as_before(tmp_path):
    assert read_config(config(tmp_path, PASSWORD, 0o600)).directory.ldap["password"] == "s3cret"  # noqa: S105
    assert read_config(config(tmp_path, SERVER, 0o644)).directory.kind == "ldap"  # no secret
    assert read_config(config(tmp_path, SERVER, 0o640)).directory.kind == "ldap"
    # The repository's documented config.toml: no server, no secret, no path written to.
    shipped = tmp_path / "shipped.toml"
    shutil.copy(ROOT / "config.toml", shipped)
    for mode in (0o644, 0o666):
        shipped.chmod(mode)
        assert read_config(shipped).source == shipped


def test_every_command_refuses_it_in_one_line(tmp_path, capsys):
    config(tmp_path, SERVER, 0o666)
    for argv in (
        ["inspect", str(ROOT / "tui" / "demo" / "identifiants.xml")],
        ["search", "x"],
        ["history"],
        ["config", "show"],
        ["config", "check"],
    ):
        code = main(argv)
        out, err = capsys.readouterr()
        assert code == 2 and out == "", argv
        assert "chmod go-w" in err and err.count("\n") == 1
    with pytest.raises(ConfigError):
        load_config()
