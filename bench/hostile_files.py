"""Time `idpronote inspect` on hostile identifiers files, process start included.

    .venv/bin/python bench/hostile_files.py

Each hostile file must be refused (exit 2, one line on stderr), and each
file of hostile records loaded partially (exit 1, its problems listed), well
under 2 s. The tests check the outcomes; this prints how long each takes and
the peak memory, as a user sees it.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BODY = (
    '<IdentifiantsPronote UAI="0441234A"><Eleves>'
    '<Eleve IDPN="5A2MJSNYRDTWKP4Q" Nom="{name}" Prenom="Jean"/>'
    "</Eleves></IdentifiantsPronote>"
)


def corpus(directory: Path) -> dict[str, Path]:
    files: dict[str, bytes | None] = {}
    files["internal DTD"] = (
        '<?xml version="1.0"?>\n<!DOCTYPE x [<!ELEMENT x ANY>]>\n' + BODY.format(name="A")
    ).encode()
    laughs = ['<!ENTITY l0 "lol">'] + [
        f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)
    ]
    files["billion laughs"] = (
        '<?xml version="1.0"?>\n<!DOCTYPE z [' + "".join(laughs) + "]>\n" + BODY.format(name="&l9;")
    ).encode()
    files["quadratic blowup"] = (
        '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "'
        + "A" * 50_000
        + '">]>\n'
        + BODY.format(name="&a;" * 20_000)
    ).encode()
    files["external entity (file)"] = (
        '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n'
        + BODY.format(name="&e;")
    ).encode()
    files["external DTD (URL)"] = (
        '<?xml version="1.0"?>\n<!DOCTYPE x SYSTEM "http://127.0.0.1:9/x.dtd">\n'
        + BODY.format(name="A")
    ).encode()
    files["invalid bytes, no declaration"] = BODY.format(name="M\xe9rine").encode("latin-1")
    files["lying declaration"] = (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + BODY.format(name="Mérine")
    ).encode("cp1252")
    files["deep nesting (100,000)"] = ("<a>" * 100_000 + "</a>" * 100_000).encode()
    files["truncated"] = BODY.format(name="A")[:-20].encode()
    files["300 MB of junk"] = None
    # Partial loads: the file is read, the bad records are reported and left out.
    head = '<?xml version="1.0" encoding="UTF-8"?>\n<IdentifiantsPronote UAI="0441234A"><Eleves>\n'
    tail = "</Eleves></IdentifiantsPronote>\n"

    def student(idpn: str, name: str) -> str:
        return f'<Eleve IDPN="{idpn}" Nom="{name}" Prenom="Jean" DateNaissance="01/02/2012"/>\n'

    files["10,000 people, one identifier"] = (
        head + "".join(student("5A2MJSNYRDTWKP4Q", f"NOM{i:05d}") for i in range(10_000)) + tail
    ).encode()
    files["one person 10,000 times"] = (
        head + student("5A2MJSNYRDTWKP4Q", "DUPONT") * 10_000 + tail
    ).encode()
    files["names of 10,000 characters"] = (
        head + "".join(student(f"{i:016d}", "A" * 10_000) for i in range(1_000)) + tail
    ).encode()
    files["right-to-left override"] = (
        head + student("5A2MJSNYRDTWKP4Q", "EVIL\u202eLIVE") + tail
    ).encode()
    paths = {}
    for index, (name, data) in enumerate(files.items()):
        path = directory / f"hostile-{index}.xml"
        if data is None:
            with open(path, "wb") as handle:
                handle.write(os.urandom(1 << 20))
                handle.truncate(300 * 1024 * 1024)
        else:
            path.write_bytes(data)
        paths[name] = path
    return paths


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        paths = corpus(Path(tmp))
        print(f"{'input':<31} {'exit':>4} {'wall s':>6} {'MiB':>4}  first line of the output")
        for name, path in paths.items():
            start = time.perf_counter()
            child = subprocess.Popen(
                [sys.executable, "-m", "tui", "inspect", str(path), "--lang", "en"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=ROOT,
            )
            out, err = child.communicate(timeout=60)
            # Children run one at a time: the running maximum grows only when this
            # child's peak is the largest so far.
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            wall = time.perf_counter() - start
            text = err if child.returncode == 2 else out
            line = (text.splitlines() or [""])[0].replace(tmp, "…")
            print(f"{name:<31} {child.returncode:>4} {wall:>6.2f} {usage.ru_maxrss / 1024:>4.0f}  "
                  f"{line[:70]}")  # fmt: skip
        print("MiB: the largest peak RSS of any child so far (getrusage of children).")


if __name__ == "__main__":
    main()
