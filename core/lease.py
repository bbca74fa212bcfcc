"""An establishment held for one session: this machine's lock, then the directory's.

The local file lock (`EstablishmentLock`) keeps two sessions of one data
directory apart. A directory that can hold a lock of its own (LDAP, with
`[directory.ldap] lock_base`) keeps sessions of different machines apart
too: its adapter's `establishment_lock` takes an entry and hands back a
`DirectoryLease`, which expires unless renewed, so a crashed host never
blocks a school for longer than one lease.

The lease is renewed by a small daemon thread (`LeaseKeeper`), not at each
write batch: in the wizard an admin may look at a step's unrecognised
accounts for longer than a lease with nothing written, and the lease must not
lapse under an open session. Each write batch instead checks, without a
round trip, that the lease is still held (`check`): if the keeper could not
renew it in time, the lease may belong to someone else now, and nothing more
is sent. The thread is joined when the session lets the establishment go.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

# The lease's shape is part of the port (core/directory.py), named again here for its users.
from core.directory import Directory, DirectoryLease
from core.i18n import t
from core.journal import EstablishmentLock, Journal, LockHeld, operator

__all__ = ["DirectoryLease", "EstablishmentHold", "LeaseKeeper", "LeaseLost"]

# A renewal every third of the lease: two may fail (a server restarting) before it lapses.
RENEWALS_PER_LEASE = 3


class LeaseLost(LockHeld):
    """The directory's lock on the establishment is no longer this session's."""


class LeaseKeeper:
    """Renews a lease on a daemon thread until stopped; says when it may have lapsed."""

    def __init__(self, lease: DirectoryLease) -> None:
        self.lease = lease
        self.interval = max(lease.duration / RENEWALS_PER_LEASE, 0.05)
        self._valid_until = time.monotonic() + lease.duration
        self._lost: str | None = None
        self._failure = ""  # why the last renewal failed, if it did
        self._stop = threading.Event()
        self._state = threading.Lock()
        self._thread = threading.Thread(
            target=self._run, name=f"idpronote-lease {lease.where}", daemon=True
        )

    def start(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            started = time.monotonic()
            try:
                self.lease.renew()
            except LeaseLost as error:
                with self._state:
                    self._lost = str(error)
                return
            except Exception as error:  # the directory is away (or worse): try again
                # Never a traceback from this thread; `check` says when the lease lapsed.
                with self._state:
                    self._failure = str(error)
                continue
            with self._state:
                # Counted from before the request: the server's clock started no later.
                self._valid_until = started + self.lease.duration

    def check(self) -> None:
        """LeaseLost if the lease is, or may be, someone else's now (no round trip)."""
        with self._state:
            lost, valid_until, why = self._lost, self._valid_until, self._failure
        if lost is None and time.monotonic() >= valid_until:
            lost = t("lock.lease_lapsed", where=self.lease.where, why=why or "?")
        if lost is not None:
            raise LeaseLost(lost)

    def stop(self) -> None:
        """Stop renewing (the thread is joined), then release the lease."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.lease.release()


class EstablishmentHold:
    """The establishment's locks for one session: the local one, then the directory's."""

    def __init__(self, directory: Directory, data_dir: Path, uai: str) -> None:
        self.directory = directory
        self.local = EstablishmentLock(data_dir, uai)
        self.uai = uai
        self.keeper: LeaseKeeper | None = None

    def acquire(self, session: str) -> EstablishmentHold:
        self.local.acquire(session)
        try:
            take = getattr(self.directory, "establishment_lock", None)
            holder = {
                **operator(getattr(self.directory, "identity", None)),
                "pid": str(os.getpid()),
                "session": session,
            }
            lease = take(self.uai, session, holder) if take is not None else None
        except BaseException:
            self.local.release()
            raise
        if lease is not None:
            self.keeper = LeaseKeeper(lease).start()
        return self

    @property
    def lease(self) -> DirectoryLease | None:
        return self.keeper.lease if self.keeper is not None else None

    def check(self) -> None:
        """Before a write batch: LeaseLost if the directory's lock may be someone else's."""
        if self.keeper is not None:
            self.keeper.check()

    def journal_takeover(self, journal: Journal | None) -> None:
        """Say in the session's journal whose expired lease this session took over."""
        lease = self.lease
        if journal is not None and lease is not None and lease.taken_over is not None:
            journal.lock_taken_over(lease.where, dict(lease.taken_over))

    def release(self) -> None:
        keeper, self.keeper = self.keeper, None
        try:
            if keeper is not None:
                keeper.stop()
        finally:
            self.local.release()

    @contextlib.contextmanager
    def held(self, session: str) -> Iterator[EstablishmentHold]:
        self.acquire(session)
        try:
            yield self
        finally:
            self.release()
