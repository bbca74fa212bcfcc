"""Writing identifiers to LDAP: checked, pipelined, read back, each change reported."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ldap3
from ldap3.core import exceptions as ldap_errors

from core.errors import DirectoryError
from core.i18n import register, t
from core.model import (
    ChangeOutcome,
    IdentifierChange,
)
from directory_adapters.base import (
    not_found,
    plan_change,
)
from directory_adapters.ldap_connection import (
    _INSUFFICIENT_ACCESS,
    _INVALID_SYNTAX,
    _NO_SUCH_ATTRIBUTE,
    _NO_SUCH_OBJECT,
    _OBJECT_CLASS_VIOLATION,
    _UNDEFINED_TYPE,
    _VALUE_EXISTS,
    LOOKUP_CHUNK,
    ROUND,
    WRITERS,
    _server_words,
    _short,
)
from directory_adapters.ldap_query import (
    _all_of,
    _any_of,
    _dn_key,
    _Entry,
    _equals,
)

if TYPE_CHECKING:  # the adapter drives a batch; a batch never imports the adapter
    from directory_adapters.ldap import LdapDirectory

register(
    {
        "dir.ldap_write.not_attempted": (
            "non tenté : {error}",
            "not attempted: {error}",
        ),
        "dir.ldap_write.what.reading": (
            "en lisant les comptes à écrire",
            "reading the accounts to write",
        ),
        "dir.ldap_write.what.holders": (
            "en vérifiant que les identifiants sont libres",
            "checking that the identifiers are free",
        ),
        "dir.ldap_write.nothing_to_write": ("rien à écrire", "nothing to write"),
        "dir.ldap_write.several_entries": (
            "plusieurs entrées ont l'identifiant de connexion {login!r} ({dns}) ; "
            "rien n'est écrit, l'annuaire doit d'abord être corrigé",
            "several entries have the login {login!r} ({dns}); "
            "nothing written, the directory must be fixed first",
        ),
        "dir.ldap_write.broke_earlier": (
            "la connexion a été coupée plus tôt dans le lot : {why}",
            "the connection broke earlier in the batch: {why}",
        ),
        "dir.ldap_write.not_sent": (
            "non envoyé ({error}) ; rien n'est écrit",
            "not sent ({error}); nothing written",
        ),
        "dir.ldap_write.confirmed": ("le serveur l'a confirmé", "the server confirmed it"),
        "dir.ldap_write.no_answer": ("aucune réponse", "no answer came"),
        "dir.ldap_write.not_read_back": (
            "envoyé ({said}) mais impossible à relire : {lost} ; relancez le même import, "
            "il signale comme tels les changements déjà faits",
            "sent ({said}) but it could not be read back: {lost}; run the same import "
            "again, it reports the changes already made as such",
        ),
        "dir.ldap_write.answer_lost": (
            "la réponse du serveur a été perdue ; relu : écrit",
            "the server's answer was lost; read back: written",
        ),
        "dir.ldap_write.broke_before_answer": (
            "non écrit : la connexion a été coupée avant la réponse ({error})",
            "not written: the connection broke before an answer ({error})",
        ),
        "dir.ldap_write.nothing": ("rien", "nothing"),
        "dir.ldap_write.changed_meanwhile": (
            "le serveur a accepté l'écriture, mais {login} porte maintenant {found} pour "
            "{uai} : modifié par quelqu'un d'autre entre-temps ; relancez le rapprochement",
            "the server accepted the write, but {login} now stores {found} for "
            "{uai}: changed by someone else meanwhile; match again",
        ),
        "dir.ldap_write.changed_while_writing": (
            "les identifiants de {login} ont changé pendant l'écriture ({words}) ; "
            "relancez le rapprochement",
            "the identifiers of {login} changed while writing ({words}); match again",
        ),
        "dir.ldap_write.entry_gone": (
            "l'entrée {dn} n'existe plus",
            "the entry {dn} no longer exists",
        ),
        "dir.ldap_write.anonymous": ("anonyme", "anonymous"),
        "dir.ldap_write.insufficient_access": (
            "droits insuffisants (insufficient access) : {who} ne peut pas écrire "
            "{attribute} sur {dn} ; l'administrateur de l'annuaire doit lui donner le "
            "droit d'écriture sur {attribute}",
            "insufficient access: {who} may not write {attribute} on {dn}; "
            "the directory admin must grant it write access to {attribute}",
        ),
        "dir.ldap_write.insufficient_access_class": (
            "droits insuffisants (insufficient access) : {who} ne peut pas écrire "
            "{attribute} sur {dn} ; l'administrateur de l'annuaire doit lui donner le "
            "droit d'écriture sur {attribute} et objectClass",
            "insufficient access: {who} may not write {attribute} on {dn}; "
            "the directory admin must grant it write access to {attribute} and objectClass",
        ),
        "dir.ldap_write.object_class_violation": (
            "les classes d'objet de {dn} n'autorisent pas {attribute} ({words}) ; "
            "renseignez [directory.identifier] object_class (par ex. entPronoteAccount) "
            "dans config.toml",
            "the object classes of {dn} do not allow {attribute} ({words}); "
            "set [directory.identifier] object_class (e.g. entPronoteAccount) in config.toml",
        ),
        "dir.ldap_write.or_class": (
            "{attribute} ou {object_class}",
            "{attribute} or {object_class}",
        ),
        "dir.ldap_write.not_accepted": (
            "le serveur n'accepte pas {unknown} sur {dn} ({words}) ; chargez le schéma "
            "d'idpronote (directory_adapters/schema/README.md) ou choisissez un autre attribut",
            "the server does not accept {unknown} on {dn} ({words}); load "
            "idpronote's schema (directory_adapters/schema/README.md) or map another one",
        ),
        "dir.ldap_write.refused": (
            "le serveur a refusé d'écrire {dn} : {words}",
            "the server refused to write {dn}: {words}",
        ),
    }
)


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

    def modification(self, attribute: str) -> dict[str, list[tuple[str, list[str]]]]:
        # Never MODIFY_REPLACE: the attribute is shared with other establishments
        # and other tools. Delete what this establishment owns, add the new value.
        operations = []
        if self.delete:
            operations.append((ldap3.MODIFY_DELETE, list(self.delete)))
        if self.add is not None:
            operations.append((ldap3.MODIFY_ADD, [self.add]))
        changes = {attribute: operations}
        if self.add_class:
            changes = {"objectClass": [(ldap3.MODIFY_ADD, [self.add_class])], **changes}
        elif self.drop_class:
            changes = {**changes, "objectClass": [(ldap3.MODIFY_DELETE, [self.drop_class])]}
        return changes

    @property
    def target(self) -> set[str]:
        return set() if self.change.idpn is None else {self.change.idpn}


class _WriteBatch:
    """`LdapDirectory.apply`: rounds of independent changes, each read back before the next.

    A round stops before a change that depends on an earlier change of the
    same round (same entry, or the same identifier freed or taken): that one
    is decided in the next round, against what the server then says.
    """

    def __init__(self, directory: LdapDirectory, changes: list[IdentifierChange]) -> None:
        self.directory = directory
        self.changes = changes
        self.outcomes: list[ChangeOutcome | None] = [None] * len(changes)
        self.attribute = directory.mapping.identifier_attribute
        self.form = directory.form
        self.answered = 0

    def run(self) -> list[ChangeOutcome]:
        pending = list(range(len(self.changes)))
        try:
            while pending:
                consumed, writes = self._plan(pending[:ROUND])
                pending = pending[consumed:]
                if writes:
                    self._announce(writes)
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
        if added and self.directory.before_send is not None:
            self.directory.before_send(added)

    # -- reading what is there -------------------------------------------------------------

    def _by_login(self, logins: Iterable[str]) -> dict[str, list[_Entry]]:
        mapping = self.directory.mapping
        login_attribute = mapping.attribute("login")
        wanted = list(dict.fromkeys(login.strip() for login in logins if login.strip()))
        found: dict[str, list[_Entry]] = {}
        for start in range(0, len(wanted), LOOKUP_CHUNK):
            chunk = wanted[start : start + LOOKUP_CHUNK]
            search_filter = _all_of(
                [mapping.person_filter, _any_of(_equals(login_attribute, x) for x in chunk)]
            )
            for entry in self.directory._search(
                search_filter,
                [login_attribute, self.attribute, "objectClass"],
                what=t("dir.ldap_write.what.reading"),
                size_limit=0,
            ):
                for login in entry.values(login_attribute):
                    found.setdefault(login.strip().casefold(), []).append(entry)
        return found

    def _holders(self, values: Iterable[str]) -> dict[str, list[_Entry]]:
        login_attribute = self.directory.mapping.attribute("login")
        wanted = list(dict.fromkeys(values))
        found: dict[str, list[_Entry]] = {}
        for start in range(0, len(wanted), LOOKUP_CHUNK):
            chunk = wanted[start : start + LOOKUP_CHUNK]
            for entry in self.directory._search(
                _any_of(_equals(self.attribute, value) for value in chunk),
                [login_attribute, self.attribute],
                what=t("dir.ldap_write.what.holders"),
                size_limit=0,
            ):
                for value in entry.values(self.attribute):
                    found.setdefault(value.casefold(), []).append(entry)
        return found

    # -- deciding ------------------------------------------------------------------------------

    def _value(self, change: IdentifierChange) -> str | None:
        if change.idpn is None:
            return None
        return self.form.format(change.uai.strip().upper(), change.idpn)

    def _plan(self, indices: list[int]) -> tuple[int, list[_Write]]:
        """Decide a round: (how many changes it took, the writes to send)."""
        changes = [self.changes[i] for i in indices]
        entries = self._by_login(change.login for change in changes)
        values = [v for v in map(self._value, changes) if v is not None]
        holders = self._holders(values) if values else {}
        touched: set[str] = set()  # entries, and identifier values, this round moves
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
        login_attribute = self.directory.mapping.attribute("login")
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
        object_class = self.directory.mapping.object_class
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
        """Send a round's writes on a few connections at once; why the link broke, or ""."""
        broken = threading.Event()
        why: list[str] = []

        def send(write: _Write) -> None:
            if broken.is_set():
                write.error = t("dir.ldap_write.broke_earlier", why=why[0])
                return
            try:
                with self.directory._connections.lend() as connection:
                    accepted = connection.modify(write.dn, write.modification(self.attribute))
                    write.result = dict(connection.result or {})
                    write.state = "confirmed" if accepted else "refused"
            except DirectoryError as error:  # could not even connect: not sent
                write.error = str(error)
                why.append(write.error)
                broken.set()
            except ldap_errors.LDAPSocketSendError as error:  # a request never sent whole
                write.error = self.directory.credentials.scrub(_short(str(error)))
                why.append(write.error)
                broken.set()
            except Exception as error:  # sent, or maybe: the read-back will tell
                write.state = "unconfirmed"
                write.error = self.directory.credentials.scrub(_short(str(error)))
                why.append(write.error)
                broken.set()

        with ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="ldap-write") as pool:
            for _ in pool.map(send, writes):
                self.answered += 1
                if self.directory.progress is not None:
                    self.directory.progress(self.answered, len(self.changes))
        return why[0] if why else ""

    # -- reading back and reporting -----------------------------------------------------------

    def _settle(self, writes: list[_Write], broken: str) -> None:
        """One outcome per write, from what the server shows now."""
        sent = [w for w in writes if w.state in ("confirmed", "unconfirmed")]
        after: dict[str, list[_Entry]] | None = None
        lost: DirectoryError | None = None
        try:
            after = self._by_login(w.login for w in sent) if sent else {}
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
        if after is None:
            said = t(
                "dir.ldap_write.confirmed"
                if write.state == "confirmed"
                else "dir.ldap_write.no_answer"
            )
            return _failure(
                change, "unconfirmed", t("dir.ldap_write.not_read_back", said=said, lost=lost)
            )
        entry = next(
            (
                e
                for e in after.get(write.login.casefold(), [])
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
        who = self.directory.credentials.bind_dn or t("dir.ldap_write.anonymous")
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
