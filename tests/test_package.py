"""The package as users get it: a wheel built from the tracked sources, installed
into a virtual environment of its own outside the checkout (as pipx does), with
the locked versions of requirements.lock.

It must carry the demo data, the LDAP schema and the stylesheet, and
`idpronote --version`, `idpronote inspect` on the packaged demo file and
`idpronote demo` (started on a terminal, then quit) must work from it. This is
slow (a venv and an install, from pip's cache when warm), so it runs once.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import shutil
import struct
import subprocess
import sys
import termios
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

# What a user cannot do without (tui/app.py loads the stylesheet at start).
PACKAGED = (
    "tui/app.tcss",
    "tui/demo/identifiants.xml",
    "tui/demo/annuaire.csv",
    "directory_adapters/schema/idpronote.schema",
    "directory_adapters/schema/idpronote.ldif",
    "directory_adapters/schema/README.md",
)


def tracked_sources(into: Path) -> Path:
    """The files git tracks, as a clean clone has them (no venv, no caches, no builds)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            target = into / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return into


def run(*command: str | Path, cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return subprocess.run(
        [str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, **kwargs
    )


def demo_on_a_terminal(idpronote: Path, cwd: Path) -> tuple[int, str]:
    """Start `idpronote demo` on an 80×24 pseudo-terminal, wait for the wizard, press Ctrl+Q."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(TERM="xterm-256color", TMPDIR=str(cwd), HOME=str(cwd))
    process = subprocess.Popen(
        [str(idpronote), "demo"], stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env
    )
    os.close(slave)
    seen = b""
    quit_sent = False
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None and not select.select([master], [], [], 0)[0]:
                break
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    seen += os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    break
            # The start screen shows the demo establishment: the wizard is up.
            if not quit_sent and b"0441234A" in seen:
                time.sleep(0.5)
                os.write(master, b"\x11")  # Ctrl+Q
                quit_sent = True
        code = process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
    return code, seen.decode("utf-8", "replace")


def test_the_wheel_installed_outside_the_checkout_works(tmp_path):
    source = tracked_sources(tmp_path / "clone")
    dist = tmp_path / "dist"
    # The locked setuptools of this environment builds it; nothing is fetched.
    built = run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
        "--quiet", "-w", dist, source, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("idpronote-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert not [p for p in PACKAGED if p not in names], sorted(names)
    assert not [n for n in names if n.startswith(("tests/", "bench/"))]

    venv = tmp_path / "users-venv"
    made = run(sys.executable, "-m", "venv", venv, cwd=tmp_path, timeout=120)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    locked = run(
        python, "-m", "pip", "install", "--quiet", "--require-hashes", "--only-binary", ":all:",
        "--no-deps", "-r", ROOT / "requirements.lock", cwd=tmp_path, timeout=600,
    )  # fmt: skip
    assert locked.returncode == 0, locked.stderr
    installed = run(python, "-m", "pip", "install", "--quiet", "--no-deps", wheel, cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr
    broken = run(python, "-m", "pip", "check", cwd=tmp_path)
    assert broken.returncode == 0, broken.stdout  # every dependency met by the lock alone

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = run(python, "-c", "import core, tui; print(tui.__file__)", cwd=elsewhere)
    assert str(venv) in where.stdout, where.stdout + where.stderr  # not the checkout

    idpronote = venv / "bin" / "idpronote"
    version = run(idpronote, "--version", cwd=elsewhere)
    assert version.returncode == 0 and version.stdout.strip() == "idpronote 0.1.0", version

    demo_file = Path(where.stdout.strip()).parent / "demo" / "identifiants.xml"
    inspected = run(idpronote, "inspect", demo_file, "--format", "json", cwd=elsewhere)
    assert inspected.returncode == 0, inspected.stderr
    report = json.loads(inspected.stdout)
    assert report["uai"] == "0441234A"
    assert report["counts"]["eleves"] == 120 and not report["problems"]

    code, screen = demo_on_a_terminal(idpronote, elsewhere)
    assert code == 0, screen[-2000:]
    assert "Traceback" not in screen
