"""Run idpronote in a child process killed (SIGKILL) at a named point of its write protocol.

Test-only: idpronote knows nothing of it. `python -m tests.killpoints ARGS...`
wraps the calls the write protocol makes, then runs `idpronote ARGS...`:

  directory-rename  os.replace onto the directory file (the CSV's rename into place)
  directory-fsync   os.fsync of the directory file being written (the CSV's
                    temporary file, the LDIF changes file)
  journal-fsync     os.fsync of a journal file (header, intent, classes, outcome, ...)
  ldap-modify       an LDAP modify answered by the server (those of a write batch,
                    pipelined by directory_adapters/ldap/wire.py, and ldap3's own)

IDPRONOTE_TEST_KILL="POINT:N" kills the process right after the Nth event at
POINT; IDPRONOTE_TEST_DELAY="POINT:SECONDS" waits before each one (to make two
processes overlap). IDPRONOTE_TEST_TARGET names the directory file.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def run_child(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    kill: str | None = None,
    delay: str | None = None,
    target: str = "",
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """`idpronote ARGV` in a child process (killed at `kill`, e.g. "directory-rename:2")."""
    environment = {**os.environ, **env, "PYTHONPATH": str(ROOT), "IDPRONOTE_TEST_TARGET": target}
    for name, value in (("IDPRONOTE_TEST_KILL", kill), ("IDPRONOTE_TEST_DELAY", delay)):
        environment.pop(name, None)
        if value:
            environment[name] = value
    return subprocess.run(
        [sys.executable, "-m", "tests.killpoints", *argv],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start_child(
    argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], delay: str | None = None
) -> subprocess.Popen[str]:
    """The same, without waiting (two processes at once)."""
    environment = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    environment.pop("IDPRONOTE_TEST_KILL", None)
    if delay:
        environment["IDPRONOTE_TEST_DELAY"] = delay
    return subprocess.Popen(
        [sys.executable, "-m", "tests.killpoints", *argv],
        cwd=cwd,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# -- in the child ------------------------------------------------------------------------------


class _Point:
    def __init__(self, spec: str | None) -> None:
        name, _, value = (spec or "").partition(":")
        self.name = name
        self.value = float(value) if value else 0.0
        self.count = 0
        self.guard = threading.Lock()

    def after(self, name: str) -> None:
        """Count an event at `name`; the Nth one kills the process."""
        if name != self.name:
            return
        with self.guard:
            self.count += 1
            if self.count == int(self.value):
                os.kill(os.getpid(), signal.SIGKILL)

    def before(self, name: str) -> None:
        if name == self.name and self.value:
            time.sleep(self.value)


def _fd_path(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


def install() -> None:
    kill = _Point(os.environ.get("IDPRONOTE_TEST_KILL"))
    delay = _Point(os.environ.get("IDPRONOTE_TEST_DELAY"))
    target = os.environ.get("IDPRONOTE_TEST_TARGET", "")
    temporary = re.compile(rf"\.{re.escape(target)}\.[A-Za-z0-9_]{{8}}\.tmp")

    def point_of_fsync(fd: int) -> str | None:
        name = Path(_fd_path(fd)).name
        if name.endswith(".jsonl"):
            return "journal-fsync"
        if target and (name == target or temporary.fullmatch(name)):
            return "directory-fsync"
        return None

    real_replace: Callable[..., Any] = os.replace
    real_fsync: Callable[[int], None] = os.fsync

    def replace(src: Any, dst: Any, *args: Any, **kw: Any) -> None:
        point = "directory-rename" if target and Path(dst).name == target else None
        if point:
            delay.before(point)
        real_replace(src, dst, *args, **kw)
        if point:
            kill.after(point)

    def fsync(fd: int) -> None:
        point = point_of_fsync(fd)
        if point:
            delay.before(point)
        real_fsync(fd)
        if point:
            kill.after(point)

    os.replace = replace  # type: ignore[assignment]
    os.fsync = fsync  # type: ignore[assignment]

    import ldap3

    real_modify = ldap3.Connection.modify

    def modify(self: Any, *args: Any, **kw: Any) -> Any:
        delay.before("ldap-modify")
        answer = real_modify(self, *args, **kw)
        kill.after("ldap-modify")
        return answer

    ldap3.Connection.modify = modify  # type: ignore[method-assign]

    # A write batch's modifies go pipelined through ldap_wire, not ldap3's modify.
    from directory_adapters.ldap import wire as ldap_wire

    modifies: set[int] = set()
    real_request = ldap_wire.modify_request
    real_send = ldap_wire.Pipeline._send
    real_take = ldap_wire.Pipeline._take

    def modify_request(message_id: int, *args: Any, **kw: Any) -> bytes:
        modifies.add(message_id)
        return real_request(message_id, *args, **kw)

    def send(self: Any, batch: list[Any]) -> None:
        if delay.name != "ldap-modify":
            return real_send(self, batch)
        for request in batch:  # one at a time, each after its delay
            if request.message_id in modifies:
                delay.before("ldap-modify")
            real_send(self, [request])
        return None

    def take(self: Any, message: bytes, flight: dict[int, Any]) -> Any:
        request = real_take(self, message, flight)
        if request is not None and request.message_id in modifies:
            kill.after("ldap-modify")
        return request

    ldap_wire.modify_request = modify_request  # type: ignore[assignment]
    ldap_wire.Pipeline._send = send  # type: ignore[method-assign]
    ldap_wire.Pipeline._take = take  # type: ignore[method-assign]


if __name__ == "__main__":
    install()
    from cli.main import main

    sys.exit(main(sys.argv[1:]))
