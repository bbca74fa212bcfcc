"""Writing identifiers to LDAP: checked, pipelined, read back, each change reported."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import ldap3
from ldap3.core import exceptions as ldap_errors

from core.errors import DirectoryError
from core.i18n import t
from core.model import (
    ChangeOutcome,
    IdentifierChange,
)
from directory_adapters.base import (
    not_found,
    plan_change,
)
from directory_adapters.ldap import messages as _messages  # noqa: F401  (registers the words)
from directory_adapters.ldap import wire as ldap_wire
from directory_adapters.ldap.channel import Channel
from directory_adapters.ldap.connection import (
    _INSUFFICIENT_ACCESS,
    _INVALID_SYNTAX,
    _NO_SUCH_ATTRIBUTE,
    _NO_SUCH_OBJECT,
    _OBJECT_CLASS_VIOLATION,
    _SUCCESS,
    _UNDEFINED_TYPE,
    _VALUE_EXISTS,
    _server_words,
    _short,
)
from directory_adapters.ldap.lookup import Found, Lookup, Reading
from directory_adapters.ldap.query import (
    _dn_key,
    _Entry,
    _entry,
)
from directory_adapters.ldap.settings import IN_FLIGHT, ROUND
from directory_adapters.mapping import AttributeMapping


@dataclass
class _Write:
    """One modify request, and what became of it."""

    index: int  # the change's position in the batch
    change: IdentifierChange
    dn: str
    login: str
    delete: tuple[str, ...]  # exactly the stored values this establishment owns
    add: str | None
    add_class: str | None
    drop_class: str | None = None  # undo: the auxiliary class goes with the last value
    # "unsent", "confirmed" (the server said yes), "refused" (it said no),
    # "unconfirmed" (sent; the answer never came)
    state: str = "unsent"
    result: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    # The entry as the server says it stands after the write (post-read control).
    after: _Entry | None = None

    def operations(self, attribute: str) -> list[tuple[int, str, list[str]]]:
        # Never a replace: the attribute is shared with other establishments and
        # other tools. Delete what this establishment owns, add the new value.
        operations = []
        if self.add_class:
            operations.append((ldap_wire.ADD, "objectClass", [self.add_class]))
        if self.delete:
            operations.append((ldap_wire.DELETE, attribute, list(self.delete)))
        if self.add is not None:
            operations.append((ldap_wire.ADD, attribute, [self.add]))
        if self.drop_class:  # after the last value is gone
            operations.append((ldap_wire.DELETE, "objectClass", [self.drop_class]))
        return operations

    @property
    def target(self) -> set[str]:
        return set() if self.change.idpn is None else {self.change.idpn}


class _WriteBatch:
    """`LdapDirectory.apply`: rounds of independent changes, each settled before the next.

    A round: one search for its accounts and the holders of its identifiers,
    then its modifies, pipelined on one connection, each answered with the
    entry as it stands after the write (the post-read control, where the
    server offers it; otherwise, and for a write whose answer never came, a
    search reads the entries back). A round stops before a change that
    depends on an earlier change of the same round (same entry, or the same
    identifier freed or taken): that one is decided in the next round,
    against what the server then says.
    """

    def __init__(
        self,
        channel: Channel,
        mapping: AttributeMapping,
        changes: list[IdentifierChange],
        progress: Callable[[int, int], None] | None = None,
        before_send: Callable[[Mapping[str, str]], None] | None = None,
    ) -> None:
        """`channel`: the directory's pools and reads; `progress` and `before_send`: the
        directory's hooks (`LdapDirectory.progress`, `Directory.before_send`)."""
        self.channel = channel
        self.mapping = mapping
        self.progress = progress
        self.before_send = before_send
        self.changes = changes
        self.outcomes: list[ChangeOutcome | None] = [None] * len(changes)
        self.attribute = mapping.identifier_attribute
        self.form = mapping.form
        self.answered = 0
        self.login_attribute = mapping.attribute("login")
        self.lookup = Lookup(channel, mapping)
        self.post_read = False
        # The next round's accounts and holders, read while this round's writes were
        # in flight (its indices, what was found, what this round's writes moved).
        self.ahead: tuple[list[int], Found, set[str]] | None = None
        self.upcoming: list[int] = []  # the changes the next round will take, at most

    def run(self) -> list[ChangeOutcome]:
        pending = list(range(len(self.changes)))
        try:
            if pending:
                self.post_read = _offers_post_read(self.channel)
            while pending:
                indices = pending[:ROUND]
                found, moving = self._found(indices)
                consumed, writes = self._plan(indices, found, moving)
                pending = pending[consumed:]
                if writes:
                    self._announce(writes)
                    self.upcoming = pending[:ROUND]
                    broken = self._send(writes)
                    self._settle(writes, broken)
                    if broken:
                        # The server failed: nothing more is sent; a resume sends the rest.
                        raise DirectoryError(broken)
        except DirectoryError as error:
            for i, change in enumerate(self.changes):
                if self.outcomes[i] is None:
                    self.outcomes[i] = _failure(
                        change, "unavailable", t("dir.ldap_write.not_attempted", error=error)
                    )
        return [outcome for outcome in self.outcomes if outcome is not None]

    def _announce(self, writes: list[_Write]) -> None:
        """Before sending: the auxiliary classes this round adds, for the session's journal."""
        added = {w.login: w.add_class for w in writes if w.add_class}
        if added and self.before_send is not None:
            self.before_send(added)

    # -- deciding ------------------------------------------------------------------------------

    def _value(self, change: IdentifierChange) -> str | None:
        if change.idpn is None:
            return None
        return self.form.format(change.uai.strip().upper(), change.idpn)

    def _found(self, indices: list[int]) -> tuple[Found, set[str]]:
        """What the server holds for these changes, and what may have moved since it was
        read: read ahead during the previous round's writes, or read now."""
        ahead, self.ahead = self.ahead, None
        if ahead is not None and ahead[0] == indices:
            return ahead[1], ahead[2]
        changes = [self.changes[i] for i in indices]
        values = [v for v in map(self._value, changes) if v is not None]
        return self.lookup.read((change.login for change in changes), values), set()

    def _plan(self, indices: list[int], found: Found, moving: set[str]) -> tuple[int, list[_Write]]:
        """Decide a round: (how many changes it took, the writes to send).

        `moving`: the entries (DN keys) and values that writes in flight while
        `found` was read may have changed: a change touching one waits for the
        next round, read afresh (as does one depending on this round)."""
        changes = [self.changes[i] for i in indices]
        entries, holders = found.by_login, found.holders
        touched = set(moving)  # entries, and identifier values, this round moves
        writes: list[_Write] = []
        for position, (i, change) in enumerate(zip(indices, changes, strict=True)):
            found = entries.get(change.login.strip().casefold(), [])
            if len(found) != 1:
                self.outcomes[i] = self._missing(change, found)
                continue
            entry = found[0]
            value = self._value(change)
            if _dn_key(entry.dn) in touched or (value is not None and value.casefold() in touched):
                return position, writes  # depends on this round: decided in the next
            write = self._decide(i, change, entry, value, holders)
            if write is not None:
                writes.append(write)
                touched.add(_dn_key(entry.dn))
                touched.update(v.casefold() for v in (*write.delete, write.add) if v)
        return len(indices), writes

    def _decide(
        self,
        i: int,
        change: IdentifierChange,
        entry: _Entry,
        value: str | None,
        holders: Mapping[str, list[_Entry]],
    ) -> _Write | None:
        stored = entry.values(self.attribute)
        uai = change.uai.strip().upper()
        login_attribute = self.login_attribute
        others = []
        if value is not None and change.idpn is not None:
            for holder in holders.get(value.casefold(), []):
                if _dn_key(holder.dn) == _dn_key(entry.dn):
                    continue
                if change.idpn in self.form.idpns_for(holder.values(self.attribute), uai):
                    others.append(next(iter(holder.values(login_attribute)), holder.dn))
        planned, outcome = plan_change(self.form, stored, change, others)
        if outcome is not None or planned is None:
            self.outcomes[i] = outcome or _failure(
                change, "error", t("dir.ldap_write.nothing_to_write")
            )
            return None
        object_class = self.mapping.object_class
        classes = {c.casefold() for c in entry.values("objectClass")}
        missing_class = (
            value is not None and object_class and object_class.casefold() not in classes
        )
        # Undo of a write that added the class: it goes with the entry's last value.
        drop_class = (
            change.drop_object_class
            and object_class
            and object_class.casefold() in classes
            and not planned
        )
        return _Write(
            index=i,
            change=change,
            dn=entry.dn,
            login=next(iter(entry.values(login_attribute)), change.login),
            delete=tuple(v for v in stored if self.form.owns(v, uai)),
            add=value,
            add_class=object_class if missing_class else None,
            drop_class=object_class if drop_class else None,
        )

    def _missing(self, change: IdentifierChange, found: list[_Entry]) -> ChangeOutcome:
        if not found:
            return not_found(change)
        dns = "; ".join(entry.dn for entry in found)
        return _failure(
            change,
            "not_found",
            t("dir.ldap_write.several_entries", login=change.login, dns=dns),
        )

    # -- sending -------------------------------------------------------------------------------

    def _send(self, writes: list[_Write]) -> str:
        """Send a round's writes, pipelined on one connection; why the link broke, or "".

        The searches of the next round (`upcoming`) go along, so that the server
        reads them while it writes (see `_found`)."""
        ahead = self.upcoming
        post_read = [self.attribute] if self.post_read else []
        requests: dict[int, tuple[_Write, ldap_wire.Request]] = {}
        for write in writes:
            message_id = ldap_wire.new_id()
            data = ldap_wire.modify_request(
                message_id, write.dn, write.operations(self.attribute), post_read
            )
            requests[message_id] = (write, ldap_wire.Request(data, message_id))
        changes = [self.changes[i] for i in ahead]
        reading = self.lookup.prepare(
            (change.login for change in changes),
            [v for v in map(self._value, changes) if v is not None],
        )
        searches = self.lookup.requests(reading.parts) if ahead else []

        def answered(request: ldap_wire.Request) -> None:
            if request.message_id not in requests:
                return  # one of the next round's searches
            write = requests[request.message_id][0]
            write.result = request.result or {}
            write.state = "confirmed" if write.result.get("result") == _SUCCESS else "refused"
            write.after = request.post_read if write.state == "confirmed" else None
            self.answered += 1
            if self.progress is not None:
                self.progress(self.answered, len(self.changes))

        channel = self.channel
        try:
            with channel.connections.lend() as connection:
                ldap_wire.Pipeline(
                    connection, window=IN_FLIGHT, timeout=channel.settings.receive_timeout
                ).run([*searches, *(request for _, request in requests.values())], answered)
        except DirectoryError as error:  # could not even connect: nothing sent
            for write in writes:
                write.error = str(error)
            return str(error)
        except ldap_errors.LDAPException as error:
            why = channel.credentials.scrub(_short(str(error)))
        else:
            self._read_ahead(list(ahead), reading, searches, writes)
            return ""
        for write, request in requests.values():
            if write.state != "unsent":
                continue
            if request.sent:  # sent, or maybe: a search will tell
                write.state = "unconfirmed"
                write.error = why
            else:
                write.error = t("dir.ldap_write.broke_earlier", why=why)
        return why

    def _read_ahead(
        self,
        indices: list[int],
        reading: Reading,
        searches: list[ldap_wire.Request],
        writes: list[_Write],
    ) -> None:
        """Keep what the next round's searches found, if they ended well."""
        collected = self.lookup.collected(reading.parts, searches) if indices else [None]
        results = [entries for entries in collected if entries is not None]
        if len(results) < len(collected):
            return  # the next round reads for itself (and says what went wrong)
        try:
            found = self.lookup.sort(reading, results)
        except DirectoryError:
            return
        moving = set()
        for write in writes:
            moving.add(_dn_key(write.dn))
            moving.update(v.casefold() for v in (*write.delete, write.add) if v)
        self.ahead = (indices, found, moving)

    # -- reading back and reporting -----------------------------------------------------------

    def _settle(self, writes: list[_Write], broken: str) -> None:
        """One outcome per write, from what the server shows now."""
        # Read back what the answers did not show: writes without an answer, and
        # (no post-read) every write the server accepted.
        unshown = [
            w
            for w in writes
            if w.state == "unconfirmed" or (w.state == "confirmed" and w.after is None)
        ]
        after: dict[str, list[_Entry]] | None = None
        lost: DirectoryError | None = None
        try:
            after = self.lookup.read(w.login for w in unshown).by_login if unshown else {}
        except DirectoryError as error:
            lost = error
        for write in writes:
            self.outcomes[write.index] = self._outcome(write, after, lost)
        if broken and lost is not None:
            raise lost  # the server is gone: the rest of the batch waits for a retry

    def _outcome(
        self,
        write: _Write,
        after: Mapping[str, list[_Entry]] | None,
        lost: DirectoryError | None,
    ) -> ChangeOutcome:
        change = write.change
        if write.state == "unsent":
            return _failure(change, "unavailable", t("dir.ldap_write.not_sent", error=write.error))
        if write.state == "refused":
            return self._refusal(write)
        if write.after is None and after is None:
            said = t(
                "dir.ldap_write.confirmed"
                if write.state == "confirmed"
                else "dir.ldap_write.no_answer"
            )
            return _failure(
                change, "unconfirmed", t("dir.ldap_write.not_read_back", said=said, lost=lost)
            )
        entry = write.after or next(
            (
                e
                for e in (after or {}).get(write.login.strip().casefold(), [])
                if _dn_key(e.dn) == _dn_key(write.dn)
            ),
            None,
        )
        shown = (
            None
            if entry is None
            else set(self.form.idpns_for(entry.values(self.attribute), change.uai))
        )
        if shown == write.target:
            if write.state == "unconfirmed":
                return ChangeOutcome(change, applied=True, reason=t("dir.ldap_write.answer_lost"))
            return ChangeOutcome(change, applied=True)
        if write.state == "unconfirmed":
            return _failure(
                change, "unavailable", t("dir.ldap_write.broke_before_answer", error=write.error)
            )
        found = ", ".join(sorted(shown or ())) or t("dir.ldap_write.nothing")
        return _failure(
            change,
            "changed",
            t("dir.ldap_write.changed_meanwhile", login=write.login, found=found, uai=change.uai),
        )

    def _refusal(self, write: _Write) -> ChangeOutcome:
        change, result = write.change, write.result
        code = result.get("result")
        words = _server_words(result)
        if code in (_NO_SUCH_ATTRIBUTE, _VALUE_EXISTS):
            return _failure(
                change,
                "changed",
                t("dir.ldap_write.changed_while_writing", login=write.login, words=words),
            )
        if code == _NO_SUCH_OBJECT:
            return _failure(change, "not_found", t("dir.ldap_write.entry_gone", dn=write.dn))
        who = self.channel.credentials.bind_dn or t("dir.ldap_write.anonymous")
        if code == _INSUFFICIENT_ACCESS:
            return _failure(
                change,
                "error",
                t(
                    "dir.ldap_write.insufficient_access_class"
                    if write.add_class
                    else "dir.ldap_write.insufficient_access",
                    who=who,
                    attribute=self.attribute,
                    dn=write.dn,
                ),
            )
        if code == _OBJECT_CLASS_VIOLATION:
            return _failure(
                change,
                "error",
                t(
                    "dir.ldap_write.object_class_violation",
                    dn=write.dn,
                    attribute=self.attribute,
                    words=words,
                ),
            )
        if code in (_UNDEFINED_TYPE, _INVALID_SYNTAX):
            unknown = (
                t("dir.ldap_write.or_class", attribute=self.attribute, object_class=write.add_class)
                if write.add_class
                else self.attribute
            )
            return _failure(
                change,
                "error",
                t("dir.ldap_write.not_accepted", unknown=unknown, dn=write.dn, words=words),
            )
        return _failure(change, "error", t("dir.ldap_write.refused", dn=write.dn, words=words))


def _failure(change: IdentifierChange, kind: str, reason: str) -> ChangeOutcome:
    return ChangeOutcome(change, applied=False, failure=kind, reason=reason)


def _offers_post_read(channel: Channel) -> bool:
    """Does the server advertise the post-read control (rootDSE supportedControl)?
    Asked once per directory; a server that will not say is taken as "no"."""
    if channel.post_read is None:

        def run(connection: Any) -> bool:
            connection.search(
                "",
                "(objectClass=*)",
                search_scope=ldap3.BASE,
                attributes=["supportedControl"],
            )
            if (connection.result or {}).get("result") != _SUCCESS:
                return False
            for response in connection.response or ():
                if response.get("type") == "searchResEntry":
                    controls = _entry(response).values("supportedControl")
                    return ldap_wire.POST_READ in (c.strip() for c in controls)
            return False

        channel.post_read = channel.run(run, t("dir.ldap_write.what.root_dse"))
    return channel.post_read
