"""Time `idpronote inspect` on hostile identifiers files, process start included.

    .venv/bin/python bench/hostile_files.py

Each file must be refused (exit 2, one line on stderr) well under 2 s. The
tests check the refusals; this prints how long each takes, as a user sees it.
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
        print(f"{'input':<32} {'exit':>4} {'wall s':>7}  first line of stderr")
        for name, path in paths.items():
            start = time.perf_counter()
            result = subprocess.run(
                [sys.executable, "-m", "tui", "inspect", str(path), "--lang", "en"],
                capture_output=True,
                text=True,
                cwd=ROOT,
                check=False,
                timeout=60,
            )
            wall = time.perf_counter() - start
            line = (result.stderr.splitlines() or [""])[0].replace(tmp, "…")
            print(f"{name:<32} {result.returncode:>4} {wall:>7.2f}  {line[:90]}")
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        print(f"peak RSS of the largest child: {usage.ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
