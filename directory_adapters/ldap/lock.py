"""The directory's lock on an establishment: one entry under `[directory.ldap] lock_base`.

    dn: cn=0441234A,ou=locks,dc=example,dc=org
    objectClass: applicationProcess
    cn: 0441234A
    description: user=jdupont
    description: host=ent-admin-1
    description: pid=4242
    description: session=2026-09-02T10-15-03-4f2a
    description: since=2026-09-02T08:15:03.120000Z
    description: until=2026-09-02T08:20:03.120000Z

A standard class (core.schema's `applicationProcess`, `cn` and `description`)
rather than one of idpronote's schema: a replicated directory needs a schema
change loaded on the provider and on every consumer before it, while these
entries need nothing more than the container and one access rule
(directory_adapters/schema/README.md). `description` compares values
without regard to case, which is all the preconditions below ask of it.

Every step is one atomic request, so that two machines can never both win:
- taking: an `add`, which fails (entryAlreadyExists) if the entry is there;
- taking over a lease whose `until` is past: one `modify` that deletes the
  very `until` value read, then replaces every value; if another taker (or
  the holder renewing) changed it first, the delete fails (noSuchAttribute)
  and nothing is changed;
- renewing: the same modify, with our own `until`;
- releasing: a `delete` carrying the assertion control (RFC 4528) that the
  entry still names our session and lease, so a lock taken over since is
  never removed by its former holder.

Times are UTC, written by the clients: the hosts' clocks must agree to within
a small part of the lease (NTP), as they must for Kerberos.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any

import ldap3
from ldap3.core import exceptions as ldap_errors

from core.errors import DirectoryError
from core.i18n import t
from core.journal import LockHeld
from core.lease import LeaseLost
from core.model import UAI_PATTERN
from core.text import printable
from directory_adapters.ldap import wire as ldap_wire
from directory_adapters.ldap.channel import Channel
from directory_adapters.ldap.connection import (
    _INSUFFICIENT_ACCESS,
    _NO_SUCH_ATTRIBUTE,
    _NO_SUCH_OBJECT,
    _SUCCESS,
    _server_words,
    _short,
)

__all__ = ["LdapLease", "take_lock"]

OBJECT_CLASS = "applicationProcess"
ASSERTION = "1.3.6.1.1.12"  # RFC 4528
_ENTRY_EXISTS = 68
# What a lock entry says of its holder, in this order.
FIELDS = ("user", "host", "pid", "session", "since", "until")
# Attempts at taking a lock that keeps changing under us (taken, released, taken over).
ATTEMPTS = 3
_SHOWN = 80  # characters of a holder's field shown in a message


def _stamp(moment: datetime) -> str:
    # Microseconds: two renewals (or two takers) never write the same `until`.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _moment(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        found = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


def _shown(text: str | None) -> str:
    """A holder's field as a message shows it: local time for a date, printable, short."""
    moment = _moment(text) if text and re.match(r"\d{4}-\d\d-\d\dT", text) else None
    if moment is not None:
        return moment.astimezone().isoformat(timespec="seconds")
    return printable(text or "?")[:_SHOWN]


def holder_of(values: list[str]) -> dict[str, str]:
    """The fields of a lock entry's `description` values (the first of each wins)."""
    found: dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        key = key.strip().casefold()
        if sep and key in FIELDS and key not in found:
            found[key] = rest.strip()
    return found


def held_message(uai: str, holder: Mapping[str, str], where: str) -> str:
    return t(
        "lock.directory_held",
        uai=uai,
        where=printable(where),
        **{name: _shown(holder.get(name)) for name in ("user", "host", "pid", "since", "until")},
    )


class LdapLease:
    """Our lock entry on one establishment (see the module's docstring)."""

    def __init__(
        self,
        channel: Channel,
        dn: str,
        holder: dict[str, str],
        taken_over: dict[str, str] | None,
    ) -> None:
        self.channel = channel
        self.where = dn
        self.duration = channel.settings.lock_lease
        self.holder = holder
        self.taken_over = taken_over

    @property
    def until(self) -> str:
        return self.holder["until"]

    def renew(self) -> None:
        until = _stamp(datetime.now(UTC) + timedelta(seconds=self.duration))
        # One request: the delete of our own `until` fails if the entry is no longer ours.
        changes = [(ldap3.MODIFY_DELETE, [f"until={self.until}"]),
                   (ldap3.MODIFY_ADD, [f"until={until}"])]  # fmt: skip
        result = _modify(self.channel, self.where, {"description": changes})
        code = result.get("result")
        if code == _SUCCESS:
            self.holder["until"] = until
            return
        if code in (_NO_SUCH_ATTRIBUTE, _NO_SUCH_OBJECT):
            now_held = _read(self.channel, self.where)
            raise LeaseLost(
                t(
                    "lock.lost",
                    where=printable(self.where),
                    user=_shown((now_held or {}).get("user")),
                    host=_shown((now_held or {}).get("host")),
                    session=_shown((now_held or {}).get("session")),
                )
            )
        raise _refused(self.channel, self.where, result)

    def release(self) -> None:
        """Delete the entry if it still names our session and lease; quietly otherwise
        (a lock taken over is someone else's; one that cannot be reached expires)."""
        ours = ldap_wire.all_of(
            [
                ldap_wire.equality("description", f"session={self.holder['session']}"),
                ldap_wire.equality("description", f"until={self.until}"),
            ]
        )
        controls = [(ASSERTION, True, ours)]
        with suppress(DirectoryError):  # a link broken since the last renewal is retried
            _request(self.channel, self.where, lambda c: c.delete(self.where, controls=controls))


def take_lock(channel: Channel, uai: str, session: str, holder: Mapping[str, Any]) -> LdapLease:
    """Take the establishment's lock entry, or take over one whose lease expired.

    LockHeld (the holder's words) if another session holds it; DirectoryError if the
    container is missing, or the bind account may not write there."""
    uai = uai.strip().upper()
    if not UAI_PATTERN.fullmatch(uai):
        raise DirectoryError(t("lock.invalid_uai", uai=printable(uai)))
    dn = f"cn={uai},{channel.settings.lock_base}"
    for _attempt in range(ATTEMPTS):
        now = datetime.now(UTC)
        mine = {
            "user": str(holder.get("user") or "?"),
            "host": str(holder.get("host") or "?"),
            "pid": str(holder.get("pid") or "?"),
            "session": session,
            "since": _stamp(now),
            "until": _stamp(now + timedelta(seconds=channel.settings.lock_lease)),
        }
        values = [f"{name}={mine[name]}" for name in FIELDS]
        result = _add(channel, dn, uai, values)
        code = result.get("result")
        if code == _SUCCESS:
            return LdapLease(channel, dn, mine, None)
        if code == _NO_SUCH_OBJECT:
            raise DirectoryError(
                t("lock.no_container", base=channel.settings.lock_base),
                hint=t("lock.schema_hint"),
            )
        if code != _ENTRY_EXISTS:
            raise _refused(channel, dn, result)
        found = _read(channel, dn)
        if found is None:
            continue  # released between our add and our read: try again
        until = _moment(found.get("until"))
        if until is not None and until > now:
            raise LockHeld(held_message(uai, found, dn))
        # Expired (or without a readable end): taken over only if nobody changed it since
        # we read it, in one request whose first part deletes a value we read.
        key = "until" if "until" in found else "session" if "session" in found else None
        if key is None:
            raise LockHeld(held_message(uai, found, dn))  # not a lock of ours: left alone
        seen = [(ldap3.MODIFY_DELETE, [f"{key}={found[key]}"])]
        result = _modify(channel, dn, {"description": [*seen, (ldap3.MODIFY_REPLACE, values)]})
        code = result.get("result")
        if code == _SUCCESS:
            return LdapLease(channel, dn, mine, found)
        if code not in (_NO_SUCH_ATTRIBUTE, _NO_SUCH_OBJECT):
            raise _refused(channel, dn, result)
        # Someone else moved first (took it over, renewed, released): look again.
    found = _read(channel, dn) or {}
    raise LockHeld(held_message(uai, found, dn))


# -- requests, to the provider -----------------------------------------------------------------


def _request(channel: Channel, dn: str, send: Any) -> dict[str, Any]:
    """Send one request on a provider connection; its result (a broken link retried once)."""
    for attempt in (1, 2):
        try:
            with channel.writers.lend() as connection:
                send(connection)
                return dict(connection.result or {})
        except ldap_errors.LDAPCommunicationError as error:
            if attempt == 2:
                raise DirectoryError(
                    t("lock.unreachable", dn=printable(dn), error=_short(str(error))),
                    hint=t("dir.ldap.lost_hint"),
                ) from None
        except ldap_errors.LDAPException as error:
            raise DirectoryError(
                t("lock.unreachable", dn=printable(dn), error=_short(str(error)))
            ) from None
    raise AssertionError("unreachable")  # pragma: no cover


def _add(channel: Channel, dn: str, uai: str, values: list[str]) -> dict[str, Any]:
    return _request(
        channel,
        dn,
        lambda c: c.add(dn, [OBJECT_CLASS], {"cn": uai, "description": values}),
    )


def _modify(channel: Channel, dn: str, changes: dict[str, Any]) -> dict[str, Any]:
    return _request(channel, dn, lambda c: c.modify(dn, changes))


def _read(channel: Channel, dn: str) -> dict[str, str] | None:
    """The holder a lock entry names, read on the provider; None if there is no entry."""
    found: list[list[str]] = []

    def search(connection: Any) -> None:
        connection.search(dn, "(objectClass=*)", search_scope=ldap3.BASE,
                          attributes=["description"])  # fmt: skip
        for response in connection.response or ():
            if response.get("type") == "searchResEntry":
                raw = response.get("raw_attributes", {}).get("description", [])
                found.append([v.decode("utf-8", "replace") for v in raw])

    result = _request(channel, dn, search)
    if result.get("result") == _NO_SUCH_OBJECT or not found:
        return None
    if result.get("result") != _SUCCESS:
        raise _refused(channel, dn, result)
    return holder_of(found[0])


def _refused(channel: Channel, dn: str, result: Mapping[str, Any]) -> DirectoryError:
    if result.get("result") == _INSUFFICIENT_ACCESS:
        who = channel.credentials.bind_dn or t("dir.ldap.anonymous")
        return DirectoryError(
            t("lock.no_access", who=who, base=channel.settings.lock_base),
            hint=t("lock.schema_hint"),
        )
    return DirectoryError(t("lock.refused", dn=printable(dn), words=_server_words(result)))
