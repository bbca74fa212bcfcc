"""The identifiers file is untrusted: hostile files are refused, and read nothing they name."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest

from core.errors import UnusableInput
from core.pronote_file import FileSchema, read_identifiers_file

BODY = (
    '<IdentifiantsPronote UAI="0441234A"><Eleves>'
    '<Eleve IDPN="5A2MJSNYRDTWKP4Q" Nom="{name}" Prenom="Jean"/>'
    "</Eleves></IdentifiantsPronote>"
)


def write(tmp_path: Path, data: bytes | str, name: str = "hostile.xml") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def refused(path: Path, match: str) -> None:
    with pytest.raises(UnusableInput, match=match):
        read_identifiers_file(path)


def test_internal_dtd_is_refused(tmp_path):
    doc = '<?xml version="1.0"?>\n<!DOCTYPE x [<!ELEMENT x ANY>]>\n' + BODY.format(name="A")
    refused(write(tmp_path, doc), r"line 2: .*DTD")


def test_billion_laughs_is_refused_without_expanding(tmp_path):
    entities = ['<!ENTITY lol "lol">']
    for i in range(1, 10):
        prev = f"&lol{i - 1};" if i > 1 else "&lol;"
        entities.append(f'<!ENTITY lol{i} "{prev * 10}">')
    doc = (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz ['
        + "".join(entities)
        + "]>\n"
        + BODY.format(name="&lol9;")
    )
    refused(write(tmp_path, doc), r"line 2: .*DTD")


def test_quadratic_blowup_is_refused(tmp_path):
    doc = (
        '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "'
        + "A" * 50_000
        + '">]>\n'
        + BODY.format(name="&a;" * 2_000)
    )
    refused(write(tmp_path, doc), "DTD")


def test_external_entity_to_a_local_file_is_never_opened(tmp_path):
    # A FIFO blocks whoever opens it for reading: if the reader tried, the test
    # would hang (and time out), and the non-blocking writer below would find a reader.
    fifo = tmp_path / "secret"
    os.mkfifo(fifo)
    doc = (
        f'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY xxe SYSTEM "file://{fifo}">]>\n'
        + BODY.format(name="&xxe;")
    )
    refused(write(tmp_path, doc), "DTD")
    with pytest.raises(OSError):  # ENXIO: nobody ever opened it for reading
        os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)


def test_external_dtd_and_url_entity_open_no_connection(tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.5)
    port = server.getsockname()[1]
    connections: list[object] = []

    def accept() -> None:
        try:
            connections.append(server.accept())
        except OSError:
            pass

    thread = threading.Thread(target=accept)
    thread.start()
    try:
        for doc in (
            f'<?xml version="1.0"?>\n<!DOCTYPE x SYSTEM "http://127.0.0.1:{port}/x.dtd">\n'
            + BODY.format(name="A"),
            f'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "http://127.0.0.1:{port}/">]>\n'
            + BODY.format(name="&e;"),
        ):
            refused(write(tmp_path, doc), "DTD")
    finally:
        thread.join()
        server.close()
    assert connections == []


def test_undeclared_entity_is_not_xml(tmp_path):
    refused(write(tmp_path, BODY.format(name="&nope;")), "not readable XML|XML illisible")


def test_too_large_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "junk.xml"
    with open(path, "wb") as handle:
        handle.truncate(300 * 1024 * 1024)  # sparse: 300 MB of NUL bytes
    refused(path, r"300 MB exceeds the 50 MB limit|300 Mo dépasse")


def test_size_limit_is_configurable(tmp_path):
    path = write(tmp_path, BODY.format(name="A" * 100).encode() * 20_000)
    with pytest.raises(UnusableInput, match=r"limit|limite"):
        read_identifiers_file(path, FileSchema(max_size_mb=1))


def test_fifo_and_devices_are_refused(tmp_path):
    fifo = tmp_path / "pipe.xml"
    os.mkfifo(fifo)
    refused(fifo, "regular file|fichier ordinaire")
    refused(Path("/dev/zero"), "regular file|fichier ordinaire")


def test_missing_and_empty_files(tmp_path):
    refused(tmp_path / "absent.xml", "no such file|introuvable")
    refused(write(tmp_path, b"   \n"), "empty|vide")


def test_truncated_file(tmp_path):
    doc = '<?xml version="1.0"?>\n' + BODY.format(name="A")[:-30]
    refused(write(tmp_path, doc), "line 2")


def test_nul_bytes(tmp_path):
    doc = '<?xml version="1.0"?>\n' + BODY.format(name="A\0B")
    refused(write(tmp_path, doc), "not readable XML|XML illisible")


def test_invalid_utf8_without_declaration(tmp_path):
    refused(write(tmp_path, BODY.format(name="M\xe9rine").encode("latin-1")), "UTF-8")


def test_lying_declaration(tmp_path):
    doc = '<?xml version="1.0" encoding="UTF-8"?>\n\n\n' + BODY.format(name="Mérine")
    refused(write(tmp_path, doc.encode("cp1252")), r"line 4: .*UTF-8")


def test_deep_nesting_is_refused(tmp_path):
    doc = "<a>" * 100_000 + "</a>" * 100_000
    refused(write(tmp_path, doc), "not readable XML|XML illisible")


def test_not_xml_at_all(tmp_path):
    refused(write(tmp_path, "login;nom;prenom\njdupont;DUPONT;Jean\n"), "line 1")
