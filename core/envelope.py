"""Opening the `EXPORT_INDEX_EDUCATION` envelope Pronote sends to ENT partners (FORMAT.md).

The envelope carries the export encrypted for one or two partners:

1. `CLES/PARTENAIRE NOM=…`: base64 of the partner's RSA-encrypted (PKCS#1 v1.5)
   48 bytes: the AES key (16), the IV (16) and the MD5 of those 32 bytes (16);
2. `CONTENU`: base64 of the export, zlib-deflated (unless
   `CompresseAvantChiffrement="false"`), then AES-128-CBC encrypted;
3. `VERIFICATION`: base64 of a SHA-256; the XSD says of the unencrypted
   content, the open-source reader hashes the bytes before inflating: either
   is accepted, nothing else.

The private key is the site's secret: read from a file only its owner can
read (as ssh insists), never printed, never copied. The decrypted content
stays in memory: the caller reads it exactly as it reads a plain file. Every
way this can fail is one line of its own that says what to do.

Note on "not for this key": since OpenSSL 3.2, RSA PKCS#1 v1.5 decryption
with the wrong key returns random bytes instead of an error (the Marvin
attack defence). A block that does not decrypt to 48 bytes is taken as not
for this key; 48 bytes whose MD5 does not check are reported as such.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import stat
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lxml import etree

from core.errors import UnusableInput
from core.i18n import register, t
from core.text import fold_tag
from core.xml_records import local_name

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa

# cryptography is imported where a key or a cipher is used: reading a plain
# file (nearly every run) should not pay for it.

__all__ = ["EnvelopeInfo", "PartnerKey", "is_envelope", "load_partner_key", "open_envelope"]

register(
    {
        "envelope.no_key": (
            "{path} : export chiffré EXPORT_INDEX_EDUCATION (partenaires : {partners}) et "
            "aucune clé privée configurée ; indiquez-la dans [file] partner_key de "
            "config.toml, ou avec --partner-key CHEMIN",
            "{path}: encrypted EXPORT_INDEX_EDUCATION export (partners: {partners}) and no "
            "private key configured; name it in [file] partner_key of config.toml, or "
            "with --partner-key PATH",
        ),
        "envelope.not_for_partner": (
            "{path} : ce fichier n'est pas chiffré pour le partenaire « {name} » "
            "([file] partner_name) ; il l'est pour : {partners}",
            "{path}: this file is not encrypted for partner '{name}' ([file] partner_name); "
            "it is for: {partners}",
        ),
        "envelope.wrong_key": (
            "{path} : la clé {key} n'ouvre ce fichier pour aucun de ses partenaires "
            "({partners}) ; il n'a pas été chiffré pour cette clé",
            "{path}: the key {key} opens this file for none of its partners ({partners}); "
            "it was not encrypted for this key",
        ),
        "envelope.key_check": (
            "{path} : la clé de contenu du partenaire {partner} se déchiffre mais son contrôle "
            "(MD5) échoue : fichier endommagé, ou chiffré pour une autre clé ; "
            "demandez un nouvel export",
            "{path}: partner {partner}'s content key decrypts but its check (MD5) fails: "
            "a damaged file, or one encrypted for another key; ask for a new export",
        ),
        "envelope.altered": (
            "{path} : le contrôle du contenu (VERIFICATION) échoue : fichier endommagé ou "
            "modifié depuis son export, refusé ; demandez un nouvel export",
            "{path}: the content check (VERIFICATION) fails: the file was damaged or altered "
            "since it was exported, refused; ask for a new export",
        ),
        "envelope.too_large": (
            "{path} : le contenu décompressé dépasse {limit} Mo (file.max_size_mb dans "
            "config.toml) ; refusé (une bombe zlib, ou une limite trop basse)",
            "{path}: the decompressed content exceeds {limit} MB (file.max_size_mb in "
            "config.toml); refused (a zlib bomb, or too low a limit)",
        ),
        "envelope.incomplete": (
            "{path} : enveloppe EXPORT_INDEX_EDUCATION sans élément {element} ; fichier "
            "tronqué ou endommagé, demandez un nouvel export",
            "{path}: EXPORT_INDEX_EDUCATION envelope without a {element} element; a truncated "
            "or damaged file, ask for a new export",
        ),
        "envelope.bad_base64": (
            "{path} : l'élément {element} de l'enveloppe n'est pas du base64 valide ; "
            "fichier endommagé, demandez un nouvel export",
            "{path}: the envelope's {element} element is not valid base64; a damaged file, "
            "ask for a new export",
        ),
        "envelope.nested": (
            "{path} : une enveloppe chiffrée dans une enveloppe chiffrée ; refusé",
            "{path}: an encrypted envelope inside an encrypted envelope; refused",
        ),
        "envelope.key_not_found": (
            "clé privée partenaire {key} introuvable ([file] partner_key ou --partner-key)",
            "partner private key {key} not found ([file] partner_key or --partner-key)",
        ),
        "envelope.key_unreadable": (
            "clé privée partenaire {key} illisible ({error})",
            "cannot read the partner private key {key} ({error})",
        ),
        "envelope.key_not_regular": (
            "clé privée partenaire {key} : ce n'est pas un fichier ordinaire",
            "partner private key {key}: not a regular file",
        ),
        "envelope.key_open": (
            "clé privée partenaire {key} lisible par d'autres utilisateurs (mode {mode}) ; "
            "refusée, comme ssh le fait : chmod 600 {key}",
            "partner private key {key} is readable by other users (mode {mode}); refused, "
            "as ssh does: chmod 600 {key}",
        ),
        "envelope.key_invalid": (
            "clé privée partenaire {key} : ce n'est pas une clé privée PEM ou DER "
            "(PKCS#8 ou PKCS#1) lisible",
            "partner private key {key}: not a readable PEM or DER private key (PKCS#8 or PKCS#1)",
        ),
        "envelope.key_not_rsa": (
            "clé privée partenaire {key} : ce n'est pas une clé RSA ; les exports Pronote "
            "sont chiffrés en RSA",
            "partner private key {key}: not an RSA key; Pronote encrypts its exports with RSA",
        ),
        "envelope.key_needs_password": (
            "la clé privée partenaire {key} est protégée par une phrase secrète, et pas de "
            "terminal pour la demander ; nommez sa variable d'environnement dans [file] "
            "partner_key_password_env",
            "the partner private key {key} is protected by a passphrase, and there is no "
            "terminal to ask for it; name its environment variable in [file] "
            "partner_key_password_env",
        ),
        "envelope.key_password_env_unset": (
            "la variable d'environnement {variable} ([file] partner_key_password_env) "
            "n'est pas définie ; la clé {key} en a besoin",
            "the environment variable {variable} ([file] partner_key_password_env) is not "
            "set; the key {key} needs it",
        ),
        "envelope.key_bad_password": (
            "phrase secrète incorrecte pour la clé privée partenaire {key}",
            "wrong passphrase for the partner private key {key}",
        ),
        "envelope.key_password_not_given": (
            "aucune phrase secrète saisie pour la clé {key}",
            "no passphrase given for the key {key}",
        ),
        "envelope.key_prompt": (
            "Phrase secrète de la clé partenaire {key} : ",
            "Passphrase of the partner key {key}: ",
        ),
    }
)

ROOT = fold_tag("EXPORT_INDEX_EDUCATION")
_MAX_KEY_FILE = 64 * 1024
_KEY_BLOCK = 48


@dataclass(frozen=True)
class PartnerKey:
    """`[file] partner_key`, `partner_name`, `partner_key_password_env` (and `--partner-key`).

    `prompt` asks for the passphrase on a terminal; None where there is none
    to ask on (cron, the TUI): then only the environment variable can give it.
    """

    path: Path | None = None
    name: str = ""
    password_env: str = ""
    prompt: Callable[[str], str] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class EnvelopeInfo:
    """What the envelope says about itself, shown by `inspect`."""

    version: str | None
    software: str | None
    date: str | None
    uai: str | None
    establishment: str | None
    postal_town: str | None
    partners: tuple[str, ...]
    partner: str
    compressed: bool
    # Which bytes VERIFICATION hashes: "content" (as inflated) or "compressed".
    verified: str

    def as_json(self) -> dict[str, object]:
        return {
            "date": self.date,
            "uai": self.uai,
            "etablissement": self.establishment,
            "logiciel": self.software,
            "partenaires": list(self.partners),
            "partenaire": self.partner,
        }


def is_envelope(root: etree._Element) -> bool:
    return fold_tag(local_name(root.tag) or "") == ROOT


# -- the key --------------------------------------------------------------------------------


def load_partner_key(key: PartnerKey, path: Path) -> rsa.RSAPrivateKey:
    """The partner's RSA private key: PEM or DER, PKCS#8 or PKCS#1, with a passphrase or not."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import rsa

    path = path.expanduser()
    data = _read_key_file(path)
    try:
        loaded = _load_key(data, None)
    except TypeError:  # encrypted: a passphrase is needed
        password = _passphrase(key, path)
        try:
            loaded = _load_key(data, password.encode("utf-8"))
        except (ValueError, TypeError):
            raise UnusableInput(t("envelope.key_bad_password", key=path)) from None
        except UnsupportedAlgorithm:
            raise UnusableInput(t("envelope.key_invalid", key=path)) from None
    except (ValueError, UnsupportedAlgorithm):
        raise UnusableInput(t("envelope.key_invalid", key=path)) from None
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise UnusableInput(t("envelope.key_not_rsa", key=path))
    return loaded


def _read_key_file(path: Path) -> bytes:
    try:
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise UnusableInput(t("envelope.key_not_found", key=path)) from None
    except OSError as error:
        raise UnusableInput(
            t("envelope.key_unreadable", key=path, error=error.strerror or error)
        ) from None
    try:
        # Checked on the open file itself, so the file checked is the file read.
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode):
            raise UnusableInput(t("envelope.key_not_regular", key=path))
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            mode = f"{stat.S_IMODE(info.st_mode):04o}"
            raise UnusableInput(t("envelope.key_open", key=path, mode=mode))
        chunks = []
        size = 0
        while size <= _MAX_KEY_FILE:
            chunk = os.read(handle, _MAX_KEY_FILE + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as error:
        raise UnusableInput(
            t("envelope.key_unreadable", key=path, error=error.strerror or error)
        ) from None
    finally:
        os.close(handle)
    data = b"".join(chunks)
    if size > _MAX_KEY_FILE or not data.strip():
        raise UnusableInput(t("envelope.key_invalid", key=path))
    return data


def _load_key(data: bytes, password: bytes | None) -> object:
    from cryptography.hazmat.primitives import serialization

    if data.lstrip().startswith(b"-----BEGIN"):
        return serialization.load_pem_private_key(data, password=password)
    return serialization.load_der_private_key(data, password=password)


def _passphrase(key: PartnerKey, path: Path) -> str:
    if key.password_env:
        value = os.environ.get(key.password_env)
        if value is None:
            raise UnusableInput(
                t("envelope.key_password_env_unset", variable=key.password_env, key=path)
            )
        return value
    if key.prompt is None:
        raise UnusableInput(t("envelope.key_needs_password", key=path))
    try:
        return key.prompt(t("envelope.key_prompt", key=path))
    except (EOFError, KeyboardInterrupt):
        raise UnusableInput(t("envelope.key_password_not_given", key=path)) from None


# -- the envelope ----------------------------------------------------------------------------


def _children(root: etree._Element) -> dict[str, etree._Element]:
    found: dict[str, etree._Element] = {}
    for child in root:
        name = local_name(child.tag)
        if name:
            found.setdefault(fold_tag(name), child)
    return found


def _text(element: etree._Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    return element.text.strip() or None


def _b64(path: Path, element: etree._Element, name: str) -> bytes:
    text = "".join((element.text or "").split())
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise UnusableInput(t("envelope.bad_base64", path=path, element=name)) from None


def _flag(value: str | None, default: bool) -> bool:
    if value is None or not value.strip():
        return default
    return value.strip().casefold() not in ("false", "0", "non", "no")


def open_envelope(
    path: Path, root: etree._Element, key: PartnerKey, limit_bytes: int
) -> tuple[bytes, EnvelopeInfo]:
    """The decrypted (and inflated) content of the envelope, with what it says about itself.

    `limit_bytes` bounds the inflated content (`[file] max_size_mb`): a few
    hundred bytes of zlib can claim gigabytes.
    """
    parts = _children(root)
    keys = parts.get(fold_tag("CLES"))
    partners: list[tuple[str, etree._Element]] = []
    if keys is not None:
        for element in keys:
            if fold_tag(local_name(element.tag) or "") == fold_tag("PARTENAIRE"):
                partners.append(((element.get("NOM") or "").strip(), element))
    if not partners:
        raise UnusableInput(t("envelope.incomplete", path=path, element="CLES/PARTENAIRE"))
    for name in ("CONTENU", "VERIFICATION"):
        if fold_tag(name) not in parts:
            raise UnusableInput(t("envelope.incomplete", path=path, element=name))
    names = tuple(n or "?" for n, _ in partners)
    listed = ", ".join(names)
    if key.path is None:
        raise UnusableInput(t("envelope.no_key", path=path, partners=listed))
    chosen = partners
    if key.name:
        chosen = [(n, e) for n, e in partners if n.casefold() == key.name.strip().casefold()]
        if not chosen:
            raise UnusableInput(
                t("envelope.not_for_partner", path=path, name=key.name, partners=listed)
            )
    from cryptography.hazmat.primitives.asymmetric import padding

    private = load_partner_key(key, key.path)
    aes_key = iv = None
    partner = ""
    md5_failed: str | None = None
    size = private.key_size // 8
    for name, element in chosen:
        block = _b64(path, element, "PARTENAIRE")
        if len(block) != size:
            continue  # made for a key of another size: not ours
        try:
            clear = private.decrypt(block, padding.PKCS1v15())
        except ValueError:
            continue
        if len(clear) != _KEY_BLOCK:
            continue
        if not hmac.compare_digest(hashlib.md5(clear[:32]).digest(), clear[32:]):  # noqa: S324
            md5_failed = md5_failed or name
            continue
        aes_key, iv, partner = clear[:16], clear[16:32], name
        break
    if aes_key is None or iv is None:
        if md5_failed is not None:
            raise UnusableInput(t("envelope.key_check", path=path, partner=md5_failed))
        tried = ", ".join(n or "?" for n, _ in chosen)
        raise UnusableInput(t("envelope.wrong_key", path=path, key=key.path, partners=tried))
    content_element = parts[fold_tag("CONTENU")]
    compressed = _flag(content_element.get("CompresseAvantChiffrement"), True)
    cipher_text = _b64(path, content_element, "CONTENU")
    expected = _b64(path, parts[fold_tag("VERIFICATION")], "VERIFICATION")
    decrypted = _decrypt(path, aes_key, iv, cipher_text)
    verified = ""
    if hmac.compare_digest(hashlib.sha256(decrypted).digest(), expected):
        verified = "compressed" if compressed else "content"
    # Uncompressed, the content is no larger than the envelope, already under the limit.
    content = _inflate(path, decrypted, limit_bytes) if compressed else decrypted
    if not verified and compressed:
        if hmac.compare_digest(hashlib.sha256(content).digest(), expected):
            verified = "content"
    if not verified:
        raise UnusableInput(t("envelope.altered", path=path))
    info = EnvelopeInfo(
        version=_text(parts.get(fold_tag("VERSION"))),
        software=_text(parts.get(fold_tag("LOGICIEL"))),
        date=_text(parts.get(fold_tag("DATEHEURE"))),
        uai=_text(parts.get(fold_tag("UAI"))),
        establishment=_text(parts.get(fold_tag("NOMETABLISSEMENT"))),
        postal_town=_text(parts.get(fold_tag("CODEPOSTALVILLE"))),
        partners=names,
        partner=partner,
        compressed=compressed,
        verified=verified,
    )
    return content, info


def _mb(limit_bytes: int) -> str:
    return f"{limit_bytes / 2**20:g}"


def _decrypt(path: Path, aes_key: bytes, iv: bytes, cipher_text: bytes) -> bytes:
    from cryptography.hazmat.primitives import padding as block_padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    if not cipher_text or len(cipher_text) % 16:
        raise UnusableInput(t("envelope.altered", path=path))
    decryptor = Cipher(algorithms.AES(aes_key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(cipher_text) + decryptor.finalize()
    unpadder = block_padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise UnusableInput(t("envelope.altered", path=path)) from None


def _inflate(path: Path, data: bytes, limit_bytes: int) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, limit_bytes + 1)
    except zlib.error:
        raise UnusableInput(t("envelope.altered", path=path)) from None
    if len(out) > limit_bytes or inflater.unconsumed_tail:
        raise UnusableInput(t("envelope.too_large", path=path, limit=_mb(limit_bytes)))
    if not inflater.eof:
        raise UnusableInput(t("envelope.altered", path=path))
    return out
