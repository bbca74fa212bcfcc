"""The EXPORT_INDEX_EDUCATION envelope: opened with the site's key, or one line saying why not.

Every envelope here is made by bench/envelope.py for keys made for this run
(the `rsa_keys` fixture); no key or file of anyone's is kept in the repository.
"""

from __future__ import annotations

import base64
import builtins
import hashlib
import os
import re
import tracemalloc
import zlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from bench.envelope import key_bytes, seal, write_key
from core.envelope import PartnerKey
from core.errors import UnusableInput
from core.model import Category
from core.pronote_file import FileSchema, read_identifiers_file
from tests.core.test_timetable_export import TIMETABLE

CONTENT = TIMETABLE.encode("utf-8")
PARTNER = "ENTPARTENAIRE"


def sealed(tmp_path: Path, rsa_keys, content: bytes = CONTENT, **options) -> Path:
    """The envelope of `content` for Index Education's key and ours (ENTPARTENAIRE)."""
    partners = options.pop(
        "partners",
        [
            ("INDEXEDUCATION", rsa_keys["theirs"].public_key()),
            (PARTNER, rsa_keys["ours"].public_key()),
        ],
    )
    path = tmp_path / "export.chiffre.xml"
    path.write_bytes(seal(content, partners, **options))
    return path


def key_file(tmp_path: Path, rsa_keys, which: str = "ours", **options) -> Path:
    return write_key(tmp_path / f"{which}.key", rsa_keys[which], **options)


def schema(key: Path | None, **options) -> FileSchema:
    limit = options.pop("max_size_mb", 50)
    return FileSchema(partner=PartnerKey(path=key, **options), max_size_mb=limit)


def refused(path: Path, file_schema: FileSchema) -> str:
    with pytest.raises(UnusableInput) as caught:
        read_identifiers_file(path, file_schema)
    message = str(caught.value)
    assert "\n" not in message  # one line, whatever went wrong
    return message


# -- what opens --------------------------------------------------------------------------------


def test_an_envelope_reads_as_the_plain_file_it_holds(tmp_path, rsa_keys):
    plain = tmp_path / "edt.xml"
    plain.write_bytes(CONTENT)
    path = sealed(tmp_path, rsa_keys)
    result = read_identifiers_file(path, schema(key_file(tmp_path, rsa_keys)))
    expected = read_identifiers_file(plain)
    assert result.counts() == expected.counts()
    assert [a.idpn for a in result.all_accounts()] == [a.idpn for a in expected.all_accounts()]
    assert result.problems == expected.problems == []
    assert (result.format, result.format_version) == ("timetable", "1.1")
    envelope = result.envelope
    assert envelope is not None
    assert envelope.partners == ("INDEXEDUCATION", PARTNER)
    assert envelope.partner == PARTNER
    assert (envelope.uai, envelope.establishment) == ("0441234A", "COLLEGE MARIE CURIE")
    assert envelope.software.startswith("PRONOTE")
    # The timetable export has no date or name of its own: the envelope's are shown.
    assert result.export_date == envelope.date == "2026-09-01T08:30:00.000+02:00"
    assert result.establishment_name == "COLLEGE MARIE CURIE"
    # What the journal records: the digest of the envelope, the bytes read from disk.
    assert result.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("encoding", ["pem", "der"])
@pytest.mark.parametrize("form", ["pkcs8", "pkcs1"])
def test_the_key_may_be_pem_or_der_pkcs8_or_pkcs1(tmp_path, rsa_keys, encoding, form):
    key = key_file(tmp_path, rsa_keys, encoding=encoding, form=form)
    if encoding == "pem":
        head = key.read_bytes().splitlines()[0]
        assert head == (b"-----BEGIN PRIVATE KEY-----" if form == "pkcs8" else
                        b"-----BEGIN RSA PRIVATE KEY-----")  # fmt: skip
    result = read_identifiers_file(sealed(tmp_path, rsa_keys), schema(key))
    assert result.counts()["responsables"] == 3


@pytest.mark.parametrize(
    ("compress", "hash_of"),
    [(True, "compressed"), (True, "content"), (False, "content")],
)
def test_verification_of_the_bytes_before_or_after_inflating(tmp_path, rsa_keys, compress, hash_of):
    path = sealed(tmp_path, rsa_keys, compress=compress, hash_of=hash_of)
    result = read_identifiers_file(path, schema(key_file(tmp_path, rsa_keys)))
    assert result.envelope.compressed is compress
    assert result.counts()["eleves"] == 3


def test_a_utf8_bom_may_lead_the_content(tmp_path, rsa_keys):
    path = sealed(tmp_path, rsa_keys, content=b"\xef\xbb\xbf" + CONTENT)
    result = read_identifiers_file(path, schema(key_file(tmp_path, rsa_keys)))
    assert result.counts()["eleves"] == 3


def test_the_configured_partner_name_is_the_block_used(tmp_path, rsa_keys):
    key = key_file(tmp_path, rsa_keys)
    result = read_identifiers_file(sealed(tmp_path, rsa_keys), schema(key, name="entpartenaire"))
    assert result.envelope.partner == PARTNER


def test_a_passphrase_from_the_environment_or_the_prompt(tmp_path, rsa_keys, monkeypatch):
    key = key_file(tmp_path, rsa_keys, passphrase=b"s3cret phrase")
    path = sealed(tmp_path, rsa_keys)
    monkeypatch.setenv("IDPRONOTE_PARTNER_PASS", "s3cret phrase")
    variable = "IDPRONOTE_PARTNER_PASS"
    assert read_identifiers_file(path, schema(key, password_env=variable))
    asked = []

    def prompt(text: str) -> str:
        asked.append(text)
        return "s3cret phrase"

    assert read_identifiers_file(path, schema(key, prompt=prompt)).counts()["eleves"] == 3
    assert asked and str(key) in asked[0] and "s3cret" not in asked[0]


# -- each refusal, its own line ---------------------------------------------------------------


def test_no_key_configured_names_the_setting_and_the_partners(tmp_path, rsa_keys):
    message = refused(sealed(tmp_path, rsa_keys), schema(None))
    assert "no private key configured" in message
    assert "[file] partner_key" in message and "--partner-key" in message
    assert "INDEXEDUCATION, ENTPARTENAIRE" in message


def test_a_file_for_another_partner_lists_the_partners_it_is_for(tmp_path, rsa_keys):
    key = key_file(tmp_path, rsa_keys)
    message = refused(sealed(tmp_path, rsa_keys), schema(key, name="LACLASSE"))
    assert "not encrypted for partner 'LACLASSE'" in message
    assert message.endswith("it is for: INDEXEDUCATION, ENTPARTENAIRE")


@pytest.mark.parametrize("which", ["theirs", "small"])
def test_a_file_not_encrypted_for_this_key(tmp_path, rsa_keys, which):
    """Another key of the same size (which OpenSSL answers with random bytes, not an
    error) or of another size."""
    path = sealed(tmp_path, rsa_keys, partners=[(PARTNER, rsa_keys["ours"].public_key())])
    message = refused(path, schema(key_file(tmp_path, rsa_keys, which)))
    assert re.search(r"opens this file for none of its partners \(ENTPARTENAIRE\)", message)


def test_the_key_check_md5_failing(tmp_path, rsa_keys):
    path = sealed(tmp_path, rsa_keys, key_check=False)
    message = refused(path, schema(key_file(tmp_path, rsa_keys)))
    assert "check (MD5) fails" in message


def test_an_altered_verification_is_refused(tmp_path, rsa_keys):
    path = sealed(tmp_path, rsa_keys)
    other = hashlib.sha256(b"something else").digest()
    text = re.sub(
        rb"<VERIFICATION>[^<]*</VERIFICATION>",
        b"<VERIFICATION>" + base64.b64encode(other) + b"</VERIFICATION>",
        path.read_bytes(),
    )
    path.write_bytes(text)
    message = refused(path, schema(key_file(tmp_path, rsa_keys)))
    assert "content check (VERIFICATION) fails" in message and "damaged or altered" in message


@pytest.mark.parametrize("compress", [True, False])
def test_an_altered_content_is_refused(tmp_path, rsa_keys, compress):
    """One AES block of CONTENU changed: the padding, the inflating or the hash says so,
    always in the same words."""
    path = sealed(tmp_path, rsa_keys, compress=compress)
    data = path.read_bytes()
    start = data.index(b"<CONTENU") + data[data.index(b"<CONTENU") :].index(b">") + 1
    middle = start + 200
    flipped = b"A" if data[middle : middle + 1] != b"A" else b"B"
    path.write_bytes(data[:middle] + flipped + data[middle + 1 :])
    message = refused(path, schema(key_file(tmp_path, rsa_keys)))
    assert "content check (VERIFICATION) fails" in message


def test_a_key_file_readable_by_others_is_refused_as_ssh_does(tmp_path, rsa_keys):
    key = key_file(tmp_path, rsa_keys)
    key.chmod(0o644)
    message = refused(sealed(tmp_path, rsa_keys), schema(key))
    assert "readable by other users (mode 0644)" in message
    assert f"chmod 600 {key}" in message


def test_a_zlib_bomb_stops_at_max_size_mb(tmp_path, rsa_keys):
    bomb = b"<a>" + b" " * (3 * 2**20) + b"</a>"  # 3 MB that deflate to a few kB
    path = sealed(tmp_path, rsa_keys, content=bomb)
    assert path.stat().st_size < 2**20 / 4
    message = refused(path, schema(key_file(tmp_path, rsa_keys), max_size_mb=1))
    assert "decompressed content exceeds 1 MB" in message


def test_a_zlib_bomb_is_never_inflated_beyond_the_limit(tmp_path, rsa_keys):
    """128 MB of zeros in 125 kB: the reader stops at the limit, it does not inflate
    everything and look afterwards."""
    deflater = zlib.compressobj(9)
    chunks = [deflater.compress(bytes(2**20)) for _ in range(128)] + [deflater.flush()]
    path = sealed(tmp_path, rsa_keys, deflated=b"".join(chunks))
    file_schema = schema(key_file(tmp_path, rsa_keys), max_size_mb=1)
    tracemalloc.start()
    try:
        refused(path, file_schema)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 * 2**20


def test_a_doctype_in_the_decrypted_content_is_refused(tmp_path, rsa_keys):
    hostile = CONTENT.replace(
        b"?>\n", b'?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n', 1
    )
    message = refused(
        sealed(tmp_path, rsa_keys, content=hostile), schema(key_file(tmp_path, rsa_keys))
    )
    assert "DTD" in message


def test_the_decrypted_content_gets_the_plain_files_encoding_checks(tmp_path, rsa_keys):
    latin = CONTENT.decode("utf-8").encode("latin-1")  # no declaration change: a lie
    message = refused(
        sealed(tmp_path, rsa_keys, content=latin), schema(key_file(tmp_path, rsa_keys))
    )
    assert "bytes invalid in the declared encoding UTF-8" in message


def test_an_envelope_inside_an_envelope_is_refused(tmp_path, rsa_keys):
    inner = sealed(tmp_path, rsa_keys).read_bytes()
    message = refused(
        sealed(tmp_path, rsa_keys, content=inner), schema(key_file(tmp_path, rsa_keys))
    )
    assert "inside an encrypted envelope" in message


def test_an_envelope_without_its_content(tmp_path, rsa_keys):
    path = sealed(tmp_path, rsa_keys)
    path.write_bytes(re.sub(rb"<CONTENU>[^<]*</CONTENU>", b"", path.read_bytes()))
    assert "without a CONTENU element" in refused(path, schema(key_file(tmp_path, rsa_keys)))


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("missing", "not found"),
        ("garbage", "not a readable PEM or DER private key"),
        ("ec", "not an RSA key"),
        ("needs_passphrase", "protected by a passphrase, and there is no terminal"),
        ("env_unset", "IDPRONOTE_NO_SUCH_VARIABLE ([file] partner_key_password_env) is not set"),
        ("wrong_passphrase", "wrong passphrase"),
        ("prompt_cancelled", "no passphrase given"),
    ],
)
def test_each_key_problem_is_its_own_line(tmp_path, rsa_keys, monkeypatch, case, words):
    monkeypatch.delenv("IDPRONOTE_NO_SUCH_VARIABLE", raising=False)
    key = tmp_path / "partner.pem"
    options: dict = {}
    if case == "garbage":
        key.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    elif case == "ec":
        key.write_bytes(key_bytes(ec.generate_private_key(ec.SECP256R1())))
    elif case != "missing":
        write_key(key, rsa_keys["ours"], passphrase=b"right")
        if case == "env_unset":
            options["password_env"] = "IDPRONOTE_NO_SUCH_VARIABLE"  # noqa: S105 - a name
        elif case == "wrong_passphrase":
            options["prompt"] = lambda _: "wrong"
        elif case == "prompt_cancelled":

            def cancelled(_: str) -> str:
                raise EOFError

            options["prompt"] = cancelled
    if key.exists():
        key.chmod(0o600)
    message = refused(sealed(tmp_path, rsa_keys), schema(key, **options))
    assert words in message
    assert "right" not in message.replace("rights", "")


# -- never on disk ------------------------------------------------------------------------------


def test_the_decrypted_content_never_touches_the_disk(tmp_path, rsa_keys, monkeypatch):
    path = sealed(tmp_path, rsa_keys)
    file_schema = schema(key_file(tmp_path, rsa_keys))
    before = sorted(p.name for p in tmp_path.iterdir())
    real_open, real_os_open = builtins.open, os.open
    writes = []

    def guarded_open(file, mode="r", *args, **kwargs):
        if any(flag in mode for flag in "wax+"):
            writes.append(file)
        return real_open(file, mode, *args, **kwargs)

    def guarded_os_open(file, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            writes.append(file)
        return real_os_open(file, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(os, "open", guarded_os_open)
    result = read_identifiers_file(path, file_schema)
    monkeypatch.undo()
    assert result.counts()[Category.ELEVES.slug] == 3
    assert writes == []
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    # And nothing of the content in clear beside the envelope.
    assert b"ACCOLEE" not in path.read_bytes()
    assert zlib.compress(CONTENT) not in path.read_bytes()
