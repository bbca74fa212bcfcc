"""Each refusal of an envelope, as the admin sees it: one line on stderr, exit 2, fr and en."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest

from bench.envelope import seal, write_key
from cli.main import main
from tests.core.test_timetable_export import TIMETABLE

CONTENT = TIMETABLE.encode("utf-8")


@pytest.fixture(autouse=True)
def no_site_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IDPRONOTE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def _altered(data: bytes) -> bytes:
    other = base64.b64encode(hashlib.sha256(b"other").digest())
    return re.sub(
        rb"<VERIFICATION>[^<]*</VERIFICATION>", b"<VERIFICATION>" + other + b"</VERIFICATION>", data
    )


# case -> (words in French, words in English)
CASES = {
    "no_key": ("aucune clé privée configurée", "no private key configured"),
    "other_partner": ("n'est pas chiffré pour le partenaire", "not encrypted for partner"),
    "wrong_key": ("n'ouvre ce fichier pour aucun", "opens this file for none"),
    "key_check": ("son contrôle (MD5) échoue", "its check (MD5) fails"),
    "altered": (
        "le contrôle du contenu (VERIFICATION) échoue",
        "the content check (VERIFICATION) fails",
    ),
    "key_open": ("lisible par d'autres utilisateurs", "readable by other users"),
    "bomb": ("le contenu décompressé dépasse 1 Mo", "the decompressed content exceeds 1 MB"),
}


def situation(case: str, tmp_path: Path, rsa_keys) -> list[str]:
    """The envelope, key and options of one refusal; the command-line arguments."""
    ours, theirs = rsa_keys["ours"], rsa_keys["theirs"]
    partners = [("INDEXEDUCATION", theirs.public_key()), ("ENTPARTENAIRE", ours.public_key())]
    content, options = CONTENT, {}
    if case == "wrong_key":
        partners = partners[:1]
    elif case == "key_check":
        options["key_check"] = False
    elif case == "bomb":
        content = b"<a>" + b" " * (2 * 2**20) + b"</a>"
    envelope = tmp_path / "export.chiffre.xml"
    data = seal(content, partners, **options)
    envelope.write_bytes(_altered(data) if case == "altered" else data)
    key = write_key(tmp_path / "partner.pem", ours)
    if case == "key_open":
        key.chmod(0o640)
    config = tmp_path / "config.toml"
    lines = ["[file]"]
    if case == "bomb":
        lines.append("max_size_mb = 1")
    if case == "other_partner":
        lines.append('partner_name = "LACLASSE"')
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    argv = ["inspect", str(envelope), "--config", str(config)]
    if case != "no_key":
        argv += ["--partner-key", str(key)]
    return argv


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_refusal_is_one_line_exit_2_in_both_languages(case, tmp_path, rsa_keys, capsys):
    argv = situation(case, tmp_path, rsa_keys)
    said = {}
    for lang, words in zip(("fr", "en"), CASES[case], strict=True):
        code = main([*argv, "--lang", lang])
        out, err = capsys.readouterr()
        assert code == 2, err
        assert out == ""
        assert err.startswith("idpronote: ") and err.count("\n") == 1, err
        assert "Traceback" not in err
        assert words in err, err
        said[lang] = err
    assert said["fr"] != said["en"]


def test_the_partner_key_option_overrides_the_configuration(tmp_path, rsa_keys, capsys):
    argv = situation("no_key", tmp_path, rsa_keys)
    elsewhere = tmp_path / "config.toml"
    elsewhere.write_text('[file]\npartner_key = "/nonexistent/partner.pem"\n', encoding="utf-8")
    assert main([*argv, "--lang", "en"]) == 2
    assert "/nonexistent/partner.pem not found" in capsys.readouterr().err
    key = tmp_path / "partner.pem"
    assert main([*argv, "--partner-key", str(key), "--lang", "en"]) == 0
    assert "in an encrypted EXPORT_INDEX_EDUCATION envelope" in capsys.readouterr().out
