"""Where the bind password may come from, and that it never shows."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from core.errors import DirectoryError
from directory_adapters.credentials import Secret, bind_credentials

DN = "cn=idpronote,ou=services,dc=example,dc=org"
PASSWORD = "s3cr3t-P@ss word"  # noqa: S105 - a test value


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def never_prompt(text: str) -> str:
    raise AssertionError(f"prompted: {text}")


def secret_file(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "ldap.secret"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_no_bind_dn_is_an_anonymous_bind_and_asks_nothing() -> None:
    credentials = bind_credentials({}, stdin=FakeTerminal(), prompt=never_prompt)
    assert credentials.anonymous and credentials.password is None


def test_environment_variable() -> None:
    settings = {"bind_dn": DN, "password_env": "IDPRONOTE_TEST_PW"}
    credentials = bind_credentials(settings, environ={"IDPRONOTE_TEST_PW": PASSWORD})
    assert credentials.password.reveal() == PASSWORD
    assert "IDPRONOTE_TEST_PW" in credentials.source


def test_unset_environment_variable_is_named(english) -> None:
    settings = {"bind_dn": DN, "password_env": "IDPRONOTE_TEST_PW", "password": "fallback"}
    with pytest.raises(DirectoryError) as caught:
        bind_credentials(settings, environ={})
    assert "IDPRONOTE_TEST_PW" in str(caught.value)
    assert "not set" in str(caught.value)


def test_password_file_first_line_only(tmp_path: Path) -> None:
    path = secret_file(tmp_path, PASSWORD + "\r\nsecond line\n")
    credentials = bind_credentials({"bind_dn": DN, "password_file": str(path)})
    assert credentials.password.reveal() == PASSWORD
    assert str(path) in credentials.source


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644, 0o620])
def test_password_file_open_to_others_is_refused_with_the_fix(tmp_path: Path, mode: int) -> None:
    path = secret_file(tmp_path, PASSWORD, mode)
    with pytest.raises(DirectoryError) as caught:
        bind_credentials({"bind_dn": DN, "password_file": str(path)})
    assert f"chmod 600 {path}" in str(caught.value)
    assert PASSWORD not in str(caught.value)


def test_password_file_of_another_user_is_refused(
    english, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = secret_file(tmp_path, PASSWORD)
    monkeypatch.setattr(os, "geteuid", lambda: path.stat().st_uid + 1)
    with pytest.raises(DirectoryError, match="belongs to another user"):
        bind_credentials({"bind_dn": DN, "password_file": str(path)})


def test_password_file_missing_or_not_a_file(english, tmp_path: Path) -> None:
    with pytest.raises(DirectoryError, match="cannot read the LDAP password file"):
        bind_credentials({"bind_dn": DN, "password_file": str(tmp_path / "absent")})
    folder = tmp_path / "folder"
    folder.mkdir(mode=0o700)
    with pytest.raises(DirectoryError, match="not a regular file"):
        bind_credentials({"bind_dn": DN, "password_file": str(folder)})


def test_empty_password_is_refused_as_it_would_bind_anonymously(english, tmp_path: Path) -> None:
    path = secret_file(tmp_path, "\n")
    with pytest.raises(DirectoryError, match="empty"):
        bind_credentials({"bind_dn": DN, "password_file": str(path)})
    with pytest.raises(DirectoryError, match="empty"):
        bind_credentials({"bind_dn": DN, "password_env": "PW"}, environ={"PW": ""})


def test_password_stored_in_config_is_the_admins_choice() -> None:
    credentials = bind_credentials({"bind_dn": DN, "password": PASSWORD})
    assert credentials.password.reveal() == PASSWORD


def test_prompt_only_on_a_terminal(english) -> None:
    asked = []

    def prompt(text: str) -> str:
        asked.append(text)
        return PASSWORD

    credentials = bind_credentials({"bind_dn": DN}, stdin=FakeTerminal(), prompt=prompt)
    assert credentials.password.reveal() == PASSWORD
    assert asked == [f"LDAP password for {DN}: "]
    with pytest.raises(DirectoryError) as caught:
        bind_credentials({"bind_dn": DN}, stdin=io.StringIO(PASSWORD), prompt=never_prompt)
    assert "no terminal" in str(caught.value)
    assert "password_env" in str(caught.value) and "password_file" in str(caught.value)


def test_the_password_never_shows() -> None:
    credentials = bind_credentials({"bind_dn": DN, "password": PASSWORD})
    for text in (repr(credentials), str(credentials), repr(credentials.password), f"{credentials}"):
        assert PASSWORD not in text
    assert str(Secret(PASSWORD)) == "Secret('***')"
    assert credentials.scrub(f"echo {PASSWORD}!") == "echo ***!"


def test_an_unset_environment_variable_is_said_in_french_by_default() -> None:
    settings = {"bind_dn": DN, "password_env": "IDPRONOTE_TEST_PW"}
    with pytest.raises(DirectoryError) as caught:
        bind_credentials(settings, environ={})
    assert caught.value.message == (
        "le mot de passe LDAP doit être lu dans la variable d'environnement "
        "IDPRONOTE_TEST_PW, qui n'est pas définie"
    )
    assert caught.value.hint == (
        "faites export IDPRONOTE_TEST_PW=... avant de lancer idpronote, ou changez "
        "[directory.ldap] password_env dans config.toml"
    )


def test_an_unset_environment_variable_in_english(english) -> None:
    settings = {"bind_dn": DN, "password_env": "IDPRONOTE_TEST_PW"}
    with pytest.raises(DirectoryError) as caught:
        bind_credentials(settings, environ={})
    assert caught.value.message == (
        "the LDAP password is to be read from the environment variable IDPRONOTE_TEST_PW, "
        "which is not set"
    )
    assert caught.value.hint == (
        "export IDPRONOTE_TEST_PW=... before running idpronote, or change "
        "[directory.ldap] password_env in config.toml"
    )


def test_where_the_password_came_from_is_said_in_the_current_language() -> None:
    credentials = bind_credentials({"bind_dn": DN, "password": "x"})
    assert credentials.source == "the password in config.toml"  # kept as is
    assert credentials.where() == "le mot de passe écrit dans config.toml"
    credentials = bind_credentials(
        {"bind_dn": DN, "password_env": "IDPRONOTE_TEST_PW"}, environ={"IDPRONOTE_TEST_PW": "x"}
    )
    assert credentials.where() == "la variable d'environnement IDPRONOTE_TEST_PW"
