"""The identifiers file is untrusted: hostile files are refused, and read nothing they name."""

from __future__ import annotations

import codecs
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
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


# -- nothing the file names is ever opened, in any encoding (observed with strace) ---------------

STRACE = shutil.which("strace")
ASCII_BODY = BODY.format(name="{name}")  # UTF-16 without a BOM passes as UTF-8 only if ASCII


def _encoded(text: str, encoding: str) -> bytes:
    """The document in one of the encodings the reader accepts, declared as files do."""
    declared = {
        "utf-8": "",
        "utf-8-bom": "",
        "utf-16-le-bom": ' encoding="UTF-16"',
        "utf-16-be-bom": ' encoding="UTF-16"',
        "utf-16-le": "",
        "utf-16-be": "",
        "iso-8859-1": ' encoding="ISO-8859-1"',
        "windows-1252": ' encoding="Windows-1252"',
        "utf-7": ' encoding="UTF-7"',
    }[encoding]
    document = f'<?xml version="1.0"{declared}?>\n' + text
    if encoding == "utf-8-bom":
        return codecs.BOM_UTF8 + document.encode("utf-8")
    if encoding.endswith("-bom"):
        codec = encoding.removesuffix("-bom")
        bom = codecs.BOM_UTF16_LE if codec.endswith("le") else codecs.BOM_UTF16_BE
        return bom + document.encode(codec)
    if encoding == "utf-7":
        # '<' written as +ADw-: no byte search for "<!DOCTYPE" sees it.
        head, rest = document.split("\n", 1)
        return (head + "\n").encode("ascii") + rest.replace("<", "+ADw-").encode("ascii")
    return document.encode(encoding)


ENCODINGS = (
    "utf-8",
    "utf-8-bom",
    "utf-16-le-bom",
    "utf-16-be-bom",
    "utf-16-le",
    "utf-16-be",
    "iso-8859-1",
    "windows-1252",
    "utf-7",
)


def _attacks(target: str) -> dict[str, str]:
    """An external DTD, an external parameter entity, an external general entity (in an
    attribute and in text)."""
    root = "IdentifiantsPronote"
    return {
        "external_dtd": f'<!DOCTYPE {root} SYSTEM "{target}">\n' + ASCII_BODY.format(name="A"),
        "parameter_entity": f'<!DOCTYPE {root} [<!ENTITY % p SYSTEM "{target}"> %p;]>\n'
        + ASCII_BODY.format(name="A"),
        "general_entity": f'<!DOCTYPE {root} [<!ENTITY e SYSTEM "{target}">]>\n'
        + ASCII_BODY.format(name="&e;"),
        "general_entity_in_text": f'<!DOCTYPE {root} [<!ENTITY e SYSTEM "{target}">]>\n'
        + f'<{root} UAI="0441234A"><Eleve IDPN="5A2MJSNYRDTWKP4Q" Prenom="Jean">'
        + f"<Nom>&e;</Nom></Eleve></{root}>",
    }


READER = """
import json, sys
from core import i18n
from core.errors import UnusableInput
from core.pronote_file import read_identifiers_file
i18n.set_language("en")
results = {}
for path in sys.argv[1:]:
    try:
        read_identifiers_file(path)
        results[path] = "read"
    except UnusableInput as error:
        results[path] = str(error)
print(json.dumps(results))
"""


def _read_under_strace(files: list[Path], trace: Path) -> dict[str, str]:
    """Read `files` in one subprocess under strace; each one's outcome (message or "read").

    A reader blocked on a FIFO is killed with strace (its own process group) and
    the test fails saying so.
    """
    root = Path(__file__).resolve().parents[2]
    argv = [STRACE, "-f", "-qq", "-e", "trace=open,openat", "-o", str(trace),
            sys.executable, "-c", READER, *map(str, files)]  # fmt: skip
    process = subprocess.Popen(
        argv, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        out, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail("the reader blocked: it opened a FIFO a document names")
    assert process.returncode == 0, err
    return json.loads(out)


@pytest.mark.skipif(STRACE is None, reason="strace is not installed (make test installs it)")
@pytest.mark.parametrize("kind", ["file", "fifo"])
def test_no_file_the_document_names_is_opened_in_any_encoding(tmp_path, kind):
    """Under strace: no open() of a canary file or a FIFO that a DTD or entity names,
    by URL or by path, in any encoding the reader accepts.

    A FIFO also blocks whoever opens it for reading: the reader would hang (and
    be killed) if it tried, whatever strace shows.
    """
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    canary = secrets / f"canary.{kind}"
    if kind == "fifo":
        os.mkfifo(canary)
    else:
        canary.write_text("canary\n")
    files = []
    for target in (f"file://{canary}", str(canary)):
        for attack, text in _attacks(target).items():
            for encoding in ENCODINGS:
                path = tmp_path / f"{attack}-{encoding}-{len(files)}.xml"
                path.write_bytes(_encoded(text, encoding))
                files.append(path)
    trace = tmp_path / "trace.txt"
    outcomes = _read_under_strace(files, trace)
    calls = trace.read_text().splitlines()
    assert any("openat(" in line and ".xml" in line for line in calls)  # strace saw the reads
    assert [line for line in calls if str(secrets) in line] == []
    for path in files:
        assert "declares a DTD or entities" in outcomes[str(path)], (path.name, outcomes[str(path)])
    assert len(files) == 2 * 4 * len(ENCODINGS)


def test_declarations_are_seen_in_every_encoding_before_parsing(tmp_path, monkeypatch):
    """The DTD check reads the bytes: the parser is never given a document that has one."""
    from lxml import etree

    parsed = []
    real = etree.fromstring
    monkeypatch.setattr(etree, "fromstring", lambda *a, **k: parsed.append(a) or real(*a, **k))
    for encoding in ENCODINGS:
        for attack, text in _attacks("/nonexistent").items():
            path = write(tmp_path, _encoded(text, encoding), f"{attack}-{encoding}.xml")
            refused(path, "DTD")
        clean = write(tmp_path, _encoded(ASCII_BODY.format(name="A"), encoding), "clean.xml")
        assert [a.surname for a in read_identifiers_file(clean).all_accounts()] == ["A"], encoding
    assert len(parsed) == len(ENCODINGS)  # only the clean files reached the parser


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
