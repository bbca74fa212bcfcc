"""Wrapping a file in an `EXPORT_INDEX_EDUCATION` envelope, as Pronote does for a partner.

The reverse of core/envelope.py, for test data and benchmarks only (idpronote
itself never encrypts): FORMAT.md's second section, step by step. A fresh
RSA key is made for each use; nothing here is anyone's real key or file.

    .venv/bin/python bench/envelope.py FILE OUT_DIR [--partner NAME] [--uncompressed]

writes OUT_DIR/partner.pem (0600, PKCS#8, no passphrase) and
OUT_DIR/<FILE's name>.chiffre.xml, the envelope of FILE for that key.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import sys
import zlib
from collections.abc import Sequence
from pathlib import Path

from cryptography.hazmat.primitives import padding as block_padding
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from lxml import etree

NAMESPACE = "http://www.index-education.com/conteneurexportchiffre"
SOFTWARE = "PRONOTE Monoposte-PRONOTE 2026 - 0.1.0 (idpronote bench)"


def new_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def key_bytes(
    key: rsa.RSAPrivateKey,
    *,
    encoding: str = "pem",
    form: str = "pkcs8",
    passphrase: bytes | None = None,
) -> bytes:
    """The private key as a partner would keep it: PEM or DER, PKCS#8 or PKCS#1."""
    chosen = serialization.Encoding.PEM if encoding == "pem" else serialization.Encoding.DER
    private_format = (
        serialization.PrivateFormat.PKCS8
        if form == "pkcs8"
        else serialization.PrivateFormat.TraditionalOpenSSL
    )
    protection = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(chosen, private_format, protection)


def write_key(path: Path, key: rsa.RSAPrivateKey, **options: object) -> Path:
    """The key file, created 0600 (idpronote refuses a key others can read)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_bytes(key, **options))  # type: ignore[arg-type]
    return path


def _wrapped(data: bytes) -> str:
    """base64 at 76 columns, as the real files have it."""
    text = base64.b64encode(data).decode("ascii")
    return "\n".join(text[i : i + 76] for i in range(0, len(text), 76))


def seal(
    content: bytes,
    partners: Sequence[tuple[str, rsa.RSAPublicKey]],
    *,
    compress: bool = True,
    hash_of: str = "compressed",
    uai: str = "0441234A",
    name: str = "COLLEGE MARIE CURIE",
    postal_town: str = "44000 NANTES",
    stamp: str = "2026-09-01T08:30:00.000+02:00",
    key_check: bool = True,
    aes_key: bytes | None = None,
    iv: bytes | None = None,
    deflated: bytes | None = None,
) -> bytes:
    """The envelope of `content` for each (partner name, public key).

    `hash_of`: what VERIFICATION hashes, "compressed" (the bytes before
    inflating, as the open-source reader checks) or "content" (the inflated
    export, as the XSD says). `key_check=False` spoils the MD5 of the key
    block, to test the reader's check. `deflated`: content already deflated (a
    bomb too large to hold inflated), sent as is and hashed as compressed.
    """
    aes_key = aes_key or os.urandom(16)
    iv = iv or os.urandom(16)
    check = hashlib.md5(aes_key + iv).digest()  # noqa: S324 - the format's own check
    if not key_check:
        check = bytes(b ^ 0xFF for b in check)
    block = aes_key + iv + check
    plain = deflated if deflated is not None else zlib.compress(content) if compress else content
    if deflated is not None:
        hash_of = "compressed"
    padder = block_padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(aes_key), modes.CBC(iv)).encryptor()
    cipher_text = encryptor.update(padded) + encryptor.finalize()
    digest = hashlib.sha256(plain if hash_of == "compressed" else content).digest()

    root = etree.Element(f"{{{NAMESPACE}}}EXPORT_INDEX_EDUCATION", nsmap={None: NAMESPACE})

    def add(tag: str, text: str, parent: etree._Element = root) -> etree._Element:
        element = etree.SubElement(parent, f"{{{NAMESPACE}}}{tag}")
        element.text = text
        return element

    add("VERSION", "1.0")
    add("LOGICIEL", SOFTWARE)
    keys = etree.SubElement(root, f"{{{NAMESPACE}}}CLES")
    for partner, public in partners:
        add("PARTENAIRE", _wrapped(public.encrypt(block, padding.PKCS1v15())), keys).set(
            "NOM", partner
        )
    contenu = add("CONTENU", _wrapped(cipher_text))
    if not compress:
        contenu.set("CompresseAvantChiffrement", "false")
    add("VERIFICATION", base64.b64encode(digest).decode("ascii"))
    add("DATEHEURE", stamp)
    add("UAI", uai)
    add("NOMETABLISSEMENT", name)
    add("CODEPOSTALVILLE", postal_town)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8") + b"\n"


def wrap_file(
    source: Path,
    out_dir: Path,
    *,
    partner: str = "ENTPARTENAIRE",
    compress: bool = True,
    name: str | None = None,
) -> tuple[Path, Path]:
    """Envelope `source` for a fresh key; (envelope path, key path), both in `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    key = new_key()
    key_path = write_key(out_dir / "partner.pem", key)
    other = new_key()  # Index Education's own copy, which the partner cannot open
    content = source.read_bytes()
    root = etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))
    uai = root.get("UAI") or "0441234A"
    sealed = seal(
        content,
        [("INDEXEDUCATION", other.public_key()), (partner, key.public_key())],
        compress=compress,
        uai=uai,
        name=(name or root.get("NomEtablissement") or "COLLEGE").upper(),
    )
    target = out_dir / (source.stem + ".chiffre.xml")
    target.write_bytes(sealed)
    return target, key_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--partner", default="ENTPARTENAIRE")
    parser.add_argument("--uncompressed", action="store_true")
    args = parser.parse_args(argv)
    target, key_path = wrap_file(
        args.file, args.out_dir, partner=args.partner, compress=not args.uncompressed
    )
    print(f"{target} (partners INDEXEDUCATION, {args.partner}); key {key_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
