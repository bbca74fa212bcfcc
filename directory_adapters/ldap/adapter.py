"""The ENT directory over LDAP (ldap3): read accounts, search them, write identifiers.

Configured by `[directory.ldap]` (CONTRACT.md) and read through the
attribute mapping of `mapping.py`, like the LDIF file.

Reading: the accounts of an establishment come from Simple Paged Results
searches asking only for the mapped attributes; responses are read as plain
dictionaries, never as ldap3's `Entry` objects (too heavy for thousands of
accounts). An account's establishments may be UAIs or DNs of structure
entries; both are understood, DNs are resolved once and cached.

Searching (the wizard's search-as-you-type): the server narrows with prefix
filters, built only from escaped user text, bounded by size and time limits;
the exact rule (that of the CSV directory: every word of the query starts a
word of the surname, first name or login, accents and case ignored) is then
applied here. Limitations, all server-side: LDAP matching rules ignore case
but not accents, so the filter sends each word as typed, without accents, and
with accents guessed (one letter at a time, or two of é, è, ô, ï together):
"hel", "helene" and "hélène" find "Hélène", but "leveque" does not find
"LÉVÊQUE" (é with ê is not guessed; "lev" or "lévêque" do). A word inside a
compound name ("bris" in "Le Bris") is looked for by substring from its 4th
letter on (shorter substrings cannot use the server's index), or at any
length when something else narrows the search (an establishment, a longer
word of the query). Results are the first ones the server returns (twice the
number asked for, at least 50), sorted here: a very short query over a whole
academy shows a sample, not the alphabetical start of the directory.

Writing: per change, delete exactly the values this establishment owns and
add the new one (`MODIFY_DELETE` + `MODIFY_ADD`, never a replace of the whole
attribute: other establishments' and other tools' values stay), after
checking on the server that no other account holds the identifier. Writes go
in rounds of independent changes, pipelined on one connection
(`write.py`, `lookup.py`, `wire.py`), each answered with the
entry as it stands after the write (the post-read control, where the server
offers it; a search otherwise): an outcome says `applied` only when the
server shows the value. If the server dies mid-batch, every change still gets
an outcome, and running the same batch again finishes the job ("already in
effect" for what was done); no thread or connection is left behind.

No ldap3 exception leaves this module: every failure becomes a
`DirectoryError` (or a failed `ChangeOutcome`) saying which server, what
happened and what to check. The bind password is never part of a message.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

import ldap3
from ldap3.core import exceptions as ldap_errors

from core.errors import DirectoryError
from core.i18n import register, t
from core.lease import DirectoryLease
from core.model import (
    CATEGORIES,
    DEFAULT_PROFILES,
    Category,
    ChangeOutcome,
    DirectoryAccount,
    IdentifierChange,
    ProfileMapping,
)
from core.names import normalise_name
from directory_adapters.base import (
    BEST_SAMPLE,
    DEFAULT_SEARCH_LIMIT,
    FAILED,
    NOT_CHECKED,
    READ_ONLY,
    UNKNOWN_ATTRIBUTE,
    WRITABLE,
    Census,
    Directory,
    LinkedAccount,
    WriteCheck,
    counted,
    sample_rank,
    skipped,
    spread,
)
from directory_adapters.credentials import BindCredentials, bind_credentials
from directory_adapters.ldap.connection import (
    _ADMIN_LIMIT,
    _CONFIDENTIALITY_REQUIRED,
    _INSUFFICIENT_ACCESS,
    _NO_SUCH_ATTRIBUTE,
    _NO_SUCH_OBJECT,
    _REFERRAL,
    _SIZE_LIMIT,
    _STRONGER_AUTH_REQUIRED,
    _SUCCESS,
    _TIME_LIMIT,
    _UNDEFINED_TYPE,
    CHECK_IDPN,
    CHECK_UAI,
    DEFAULT_SEARCH_TIME_LIMIT,
    SAMPLE_CANDIDATES,
    SEARCH_FETCH_FACTOR,
    SEARCH_FETCH_MAX,
    WRITERS,
    LdapSettings,
    _Connections,
    _server_words,
    _short,
)
from directory_adapters.ldap.lock import take_lock
from directory_adapters.ldap.query import (
    _all_of,
    _any_of,
    _dn_key,
    _Entry,
    _entry,
    _equals,
    _Query,
    _sort_key,
)
from directory_adapters.ldap.write import (
    _WriteBatch,
)
from directory_adapters.mapping import AttributeMapping, is_dn

register(
    {
        "dir.ldap.describe": (
            "LDAP {urls} (base {bases}) en tant que {who}{tls}",
            "LDAP {urls} (base {bases}) as {who}{tls}",
        ),
        "dir.ldap.anonymous": ("anonyme", "anonymous"),
        "dir.ldap.unencrypted": (", non chiffré", ", unencrypted"),
        # what a search was doing, in the messages below ("while ...")
        "dir.ldap.what.naming_contexts": (
            "en lisant les contextes de nommage du serveur",
            "reading the server's naming contexts",
        ),
        "dir.ldap.what.structure_of": (
            "en cherchant l'entrée de structure de {uai}",
            "looking for the structure entry of {uai}",
        ),
        "dir.ldap.what.structure": ("en lisant la structure {dn}", "reading the structure {dn}"),
        "dir.ldap.what.student": ("en lisant l'élève {dn}", "reading the student {dn}"),
        "dir.ldap.what.listing": (
            "en listant les comptes de {uai}",
            "listing the accounts of {uai}",
        ),
        "dir.ldap.what.account": ("en lisant le compte {login}", "reading the account {login}"),
        "dir.ldap.what.holders": (
            "en cherchant les porteurs de {value}",
            "looking for the holders of {value}",
        ),
        "dir.ldap.what.search": ("en cherchant {text!r}", "searching for {text!r}"),
        "dir.ldap.what.unusable": (
            "en cherchant les entrées inutilisables sous {base}",
            "looking for unusable entries under {base}",
        ),
        "dir.ldap.what.counting": (
            "en comptant les comptes sous {base}",
            "counting the accounts under {base}",
        ),
        "dir.ldap.what.sample": (
            "en cherchant un compte exemple",
            "looking for a sample account",
        ),
        "dir.ldap.what.before_check": (
            "en lisant {dn} avant la vérification d'écriture",
            "reading {dn} before the write check",
        ),
        "dir.ldap.what.check": (
            "en vérifiant le droit d'écriture sur {dn}",
            "checking the write access on {dn}",
        ),
        # reading
        "dir.ldap.error": ("erreur LDAP {what} : {error}", "LDAP error while {what}: {error}"),
        "dir.ldap.no_answer": (
            "{url} n'a pas répondu en {seconds} s {what}",
            "{url} did not answer within {seconds} s while {what}",
        ),
        "dir.ldap.no_answer_hint": (
            "le serveur est peut-être surchargé ; augmentez [directory.ldap] timeout (ou "
            "receive_timeout, pour les réponses seulement)",
            "the server may be overloaded; raise [directory.ldap] timeout (or receive_timeout, "
            "for the answers only)",
        ),
        "dir.ldap.lost": (
            "connexion perdue avec {url} {what} ({error})",
            "lost the connection to {url} while {what} ({error})",
        ),
        "dir.ldap.lost_hint": (
            "vérifiez que le serveur fonctionne, puis réessayez",
            "check that the server runs, then try again",
        ),
        "dir.ldap.size_limit": (
            "{url} s'est arrêté après {count} entrées {what} : limite de taille du serveur "
            "atteinte (size limit) ({words})",
            "{url} stopped after {count} entries while {what}: size limit exceeded ({words})",
        ),
        "dir.ldap.size_limit_hint": (
            "augmentez [directory.ldap] size_limit, ou demandez à l'administrateur de "
            "l'annuaire de lever les limites de taille (size) du serveur pour {who} "
            "(OpenLDAP : limits dn.exact=... size.prtotal=unlimited)",
            "raise [directory.ldap] size_limit, or ask the directory admin to lift the "
            "server's size limits for {who} (OpenLDAP: limits dn.exact=... "
            "size.prtotal=unlimited)",
        ),
        "dir.ldap.time_limit": (
            "{url} s'est arrêté après {count} entrées {what} : limite de temps du serveur "
            "atteinte (time limit) ({words})",
            "{url} stopped after {count} entries while {what}: time limit exceeded ({words})",
        ),
        "dir.ldap.time_limit_hint": (
            "augmentez [directory.ldap] time_limit, ou demandez à l'administrateur de "
            "l'annuaire de lever les limites de temps (time) du serveur pour {who} "
            "(OpenLDAP : limits dn.exact=... size.prtotal=unlimited)",
            "raise [directory.ldap] time_limit, or ask the directory admin to lift the "
            "server's time limits for {who} (OpenLDAP: limits dn.exact=... "
            "size.prtotal=unlimited)",
        ),
        "dir.ldap.no_base": (
            "la base de recherche {base!r} n'existe pas sur {url}",
            "the search base {base!r} does not exist on {url}",
        ),
        "dir.ldap.no_base_hint": (
            "vérifiez [directory.ldap] base_dn",
            "check [directory.ldap] base_dn",
        ),
        "dir.ldap.no_read_access": (
            "{who} ne peut pas lire {base} {what} : droits insuffisants (insufficient access)",
            "{who} may not read {base} while {what}: insufficient access",
        ),
        "dir.ldap.no_read_access_hint": (
            "demandez à l'administrateur de l'annuaire le droit de lecture sur les attributs "
            "des comptes",
            "ask the directory admin for read access to the accounts' attributes",
        ),
        "dir.ldap.search_refused": (
            "{url} a refusé la recherche {what} : {words}",
            "{url} refused the search while {what}: {words}",
        ),
        "dir.ldap.no_uai_attribute": (
            "aucun attribut d'établissement n'est défini",
            "no establishment attribute is mapped",
        ),
        "dir.ldap.no_uai_attribute_hint": (
            "renseignez [directory.fields] uai dans config.toml",
            "set [directory.fields] uai in config.toml",
        ),
        # census
        "dir.ldap.unresolved.one": (
            "{count} nom d'établissement ne correspond à aucune entrée avec {attribute} "
            "(compté sous son DN), par ex. {example}",
            "{count} establishment names no entry with {attribute} (counted under its DN), "
            "e.g. {example}",
        ),
        "dir.ldap.unresolved.many": (
            "{count} noms d'établissement ne correspondent à aucune entrée avec {attribute} "
            "(comptés sous leur DN), par ex. {example}",
            "{count} establishments name no entry with {attribute} (counted under its DN), "
            "e.g. {example}",
        ),
        "dir.ldap.count_stopped": (
            "le serveur a arrêté le comptage après {seen} entrées ({stopped}) : augmentez "
            "[directory.ldap] size_limit ou time_limit, ou demandez à l'administrateur de "
            "l'annuaire de lever les limites du serveur pour {who}",
            "the server stopped the count after {seen} entries ({stopped}): "
            "raise [directory.ldap] size_limit or time_limit, or ask the directory admin "
            "to lift the server's limits for {who}",
        ),
        # the write check
        "dir.ldap.check.no_account": (
            "aucun compte trouvé sur lequel vérifier le droit d'écriture",
            "no account was found to check the write access on",
        ),
        "dir.ldap.check.unreadable": (
            "l'entrée {dn} n'a pas pu être lue",
            "the entry {dn} could not be read",
        ),
        "dir.ldap.check.writable_with_class": (
            "{who} peut écrire {attribute}, et objectClass pour ajouter {object_class} "
            "(vérifié sur {dn} ; rien n'a été modifié)",
            "{who} may write {attribute}, and objectClass to add {object_class} "
            "(checked on {dn}; nothing was changed)",
        ),
        "dir.ldap.check.no_object_class": (
            "{who} peut écrire {attribute} mais pas objectClass, ce qui est nécessaire pour "
            "ajouter {object_class} aux entrées qui ne l'ont pas (comme {dn}) ; demandez le "
            'droit d\'écriture sur objectClass, ou mettez [directory.identifier] object_class = "" '
            "si les entrées acceptent déjà l'attribut",
            "{who} may write {attribute} but not objectClass, which it must to add "
            "{object_class} to entries that lack it (as {dn}); ask for write access to "
            'objectClass, or set [directory.identifier] object_class = "" if the '
            "entries allow the attribute already",
        ),
        "dir.ldap.check.class_refused": (
            "le serveur a refusé la vérification d'objectClass sur {dn} : {words}",
            "the server refused the objectClass check on {dn}: {words}",
        ),
        "dir.ldap.check.every_value": (
            "l'entrée porte toutes les valeurs que la vérification d'écriture pourrait utiliser",
            "the entry holds every value the write check could use",
        ),
        "dir.ldap.check.writable": (
            "{who} peut écrire {attribute} (vérifié sur {dn} ; rien n'a été modifié)",
            "{who} may write {attribute} (checked on {dn}; nothing was changed)",
        ),
        "dir.ldap.check.read_only": (
            "{who} ne peut pas écrire {attribute} sur {dn} : droits insuffisants "
            "(insufficient access)",
            "{who} may not write {attribute} on {dn}: insufficient access",
        ),
        "dir.ldap.check.fix_bind_dn": (
            "renseignez [directory.ldap] bind_dn avec un compte autorisé à écrire",
            "set [directory.ldap] bind_dn to an account allowed to write",
        ),
        "dir.ldap.check.fix_tls": (
            "utilisez ldaps:// ou start_tls = true",
            "use ldaps:// or start_tls = true",
        ),
        "dir.ldap.check.stronger_auth": (
            "{who} ne peut pas écrire {attribute} sur {dn} : {words} ; {fix}",
            "{who} may not write {attribute} on {dn}: {words}; {fix}",
        ),
        "dir.ldap.check.referral": (
            "{url} a renvoyé l'écriture ailleurs (un referral : un réplica en lecture seule) ; "
            "faites pointer [directory.ldap] url vers le serveur qui accepte les écritures",
            "{url} sent the write elsewhere (a referral: a "
            "read-only replica); point [directory.ldap] url at the server that takes writes",
        ),
        "dir.ldap.check.unknown_attribute": (
            "le serveur ne connaît pas l'attribut {attribute} ({words}) ; chargez le schéma "
            "d'idpronote (directory_adapters/schema/README.md) ou choisissez un autre "
            "attribut dans [directory.identifier]",
            "the server does not know the attribute {attribute} ({words}); load "
            "idpronote's schema (directory_adapters/schema/README.md) or map another "
            "attribute in [directory.identifier]",
        ),
        "dir.ldap.check.refused": (
            "le serveur a refusé la vérification d'écriture sur {dn} : {words}",
            "the server refused the write check on {dn}: {words}",
        ),
    }
)

__all__ = ["LdapDirectory", "LdapSettings"]


class LdapDirectory(Directory):
    """Accounts of an LDAP directory; identifiers written into it."""

    def __init__(
        self,
        settings: Mapping[str, Any] | LdapSettings,
        mapping: AttributeMapping | None = None,
        profiles: ProfileMapping | None = None,
        *,
        credentials: BindCredentials | None = None,
    ) -> None:
        """Check the settings, get the password, and connect (errors surface here, early)."""
        raw = settings if isinstance(settings, Mapping) else {}
        self.settings = (
            settings if isinstance(settings, LdapSettings) else LdapSettings.from_mapping(raw)
        )
        self.mapping = mapping or AttributeMapping.build()
        self.form = self.mapping.form
        self.profiles = profiles if profiles is not None else ProfileMapping(dict(DEFAULT_PROFILES))
        self.credentials = credentials if credentials is not None else bind_credentials(raw)
        # Called after each write answered, with (answered, total): for a
        # progress bar; the tests also use it to break the server mid-batch.
        self.progress: Callable[[int, int], None] | None = None
        # Entries a listing could not use (no login, no surname): (dn, why).
        self.skipped: list[tuple[str, str]] = []
        self._structure_uais: dict[str, str | None] = {}
        self._structure_dns: dict[str, tuple[str, ...]] = {}
        self._student_logins: dict[str, str | None] = {}
        self._naming_contexts: tuple[str, ...] | None = None
        # Does the server offer the post-read control (RFC 4527)? Read once, on the
        # first write (write.py).
        self._post_read: bool | None = None
        # Reads go to `url` (the consumers, the provider last); writes, and the reads
        # that must see them, to `write_url` (the provider): see `_on_provider`.
        self._readers = _Connections(self.settings, self.credentials, self.settings.read_urls)
        self._writers = self._readers
        self._route = threading.local()
        if self.settings.write_url is not None:
            self._writers = _Connections(
                self.settings, self.credentials, (self.settings.write_url,)
            )
        # Connect now: a wrong password or a dead server is reported at once. The
        # provider is reached on the first write or lock (a session's start): a
        # read-only command (search, match) does not need it.
        with self._readers.lend():
            pass

    @property
    def _connections(self) -> _Connections:
        """The connections this thread's next operation uses (see `_on_provider`)."""
        return self._writers if getattr(self._route, "provider", False) else self._readers

    @contextmanager
    def _on_provider(self) -> Iterator[None]:
        """Within: every operation of this thread goes to the provider. A write round's
        reads (what an entry holds before, after, the holders of a value) must see the
        provider's state, not a consumer's that replication has not reached yet."""
        before = getattr(self._route, "provider", False)
        self._route.provider = True
        try:
            yield
        finally:
            self._route.provider = before

    def describe(self) -> str:
        bases = "; ".join(self.settings.bases)
        who = self.credentials.bind_dn or t("dir.ldap.anonymous")
        urls = " | ".join(self.settings.urls)
        if self.settings.write_url is not None:
            urls = t("dir.ldap.describe_provider", urls=urls, provider=self.settings.write_url)
        tls = "" if self.settings.encrypted else t("dir.ldap.unencrypted")
        if self.settings.start_tls:
            tls = ", StartTLS"
        return t("dir.ldap.describe", urls=urls, bases=bases, who=who, tls=tls)

    def close(self) -> None:
        self._readers.close()
        self._writers.close()

    # -- low-level reading ------------------------------------------------------------------

    def _run(self, operation: Callable[[ldap3.Connection], Any], what: str) -> Any:
        """Run a read on a lent connection; a broken link is retried once on a new one."""
        for attempt in (1, 2):
            try:
                with self._connections.lend() as connection:
                    return operation(connection)
            except ldap_errors.LDAPCommunicationError as error:
                if attempt == 2:
                    raise self._lost(error, what) from None
            except ldap_errors.LDAPException as error:
                raise DirectoryError(
                    self.credentials.scrub(t("dir.ldap.error", what=what, error=_short(str(error))))
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _lost(self, error: Exception, what: str) -> DirectoryError:
        text = self.credentials.scrub(_short(str(error)))
        if "timed out" in text:
            return DirectoryError(
                t(
                    "dir.ldap.no_answer",
                    url=self._connections.last_url,
                    seconds=f"{self.settings.receive_timeout:g}",
                    what=what,
                ),
                hint=t("dir.ldap.no_answer_hint"),
            )
        return DirectoryError(
            t("dir.ldap.lost", url=self._connections.last_url, what=what, error=text),
            hint=t("dir.ldap.lost_hint"),
        )

    def _search(
        self,
        search_filter: str,
        attributes: Sequence[str],
        *,
        what: str,
        bases: Sequence[str] | None = None,
        scope: str = ldap3.SUBTREE,
        size_limit: int | None = None,
        time_limit: int | None = None,
        truncate: bool = False,
    ) -> list[_Entry]:
        """Entries under every base (each once), page by page.

        A size or time limit hit is an error unless `truncate` says a partial
        answer is fine (a search dialog), so a listing is never silently short.
        """
        size_limit = self.settings.size_limit if size_limit is None else size_limit
        time_limit = self.settings.time_limit if time_limit is None else time_limit
        found: dict[str, _Entry] = {}
        for base in bases if bases is not None else self.settings.bases:
            for entry in self._paged(
                base, search_filter, attributes, scope, size_limit, time_limit, truncate, what
            ):
                found.setdefault(_dn_key(entry.dn), entry)
            if truncate and size_limit and len(found) >= size_limit:
                break
        return list(found.values())

    def _paged(
        self,
        base: str,
        search_filter: str,
        attributes: Sequence[str],
        scope: str,
        size_limit: int,
        time_limit: int,
        truncate: bool,
        what: str,
    ) -> list[_Entry]:
        def run(connection: ldap3.Connection) -> list[_Entry]:
            entries: list[_Entry] = []
            cookie = None
            while True:
                connection.search(
                    base,
                    search_filter,
                    search_scope=scope,
                    attributes=list(attributes) or ["1.1"],
                    size_limit=size_limit,
                    time_limit=time_limit,
                    paged_size=self.settings.page_size if scope != ldap3.BASE else None,
                    paged_cookie=cookie,
                )
                result = connection.result or {}
                entries += [
                    _entry(r)
                    for r in connection.response or ()
                    if r.get("type") == "searchResEntry"
                ]
                code = result.get("result")
                if code != _SUCCESS:
                    self._search_failed(result, base, what, len(entries), truncate)
                    return entries
                controls = result.get("controls") or {}
                paged = controls.get("1.2.840.113556.1.4.319") or {}
                cookie = (paged.get("value") or {}).get("cookie")
                if not cookie:
                    return entries

        return self._run(run, what)

    def _search_failed(
        self, result: Mapping[str, Any], base: str, what: str, count: int, truncate: bool
    ) -> None:
        code = result.get("result")
        if code in (_SIZE_LIMIT, _TIME_LIMIT, _ADMIN_LIMIT):
            if truncate:
                return
            limit = "dir.ldap.time_limit" if code == _TIME_LIMIT else "dir.ldap.size_limit"
            raise DirectoryError(
                t(
                    limit,
                    url=self._connections.last_url,
                    count=count,
                    what=what,
                    words=_server_words(result),
                ),
                hint=t(f"{limit}_hint", who=self._who()),
            )
        if code == _NO_SUCH_OBJECT:
            if base == "" or self._is_configured_base(base):
                raise DirectoryError(
                    t("dir.ldap.no_base", base=base, url=self._connections.last_url),
                    hint=t("dir.ldap.no_base_hint"),
                )
            return  # a DN read on its own (a structure, a student) that is gone
        if code == _INSUFFICIENT_ACCESS:
            raise DirectoryError(
                t("dir.ldap.no_read_access", who=self._who(), base=base, what=what),
                hint=t("dir.ldap.no_read_access_hint"),
            )
        raise DirectoryError(
            t(
                "dir.ldap.search_refused",
                url=self._connections.last_url,
                what=what,
                words=_server_words(result),
            )
        )

    def _who(self) -> str:
        """The bind DN, or "anonymous" (for messages)."""
        return self.credentials.bind_dn or t("dir.ldap.anonymous")

    def _is_configured_base(self, base: str) -> bool:
        return _dn_key(base) in {_dn_key(b) for b in self.settings.bases}

    # -- establishments, structures, students -------------------------------------------------

    def _structure_bases(self) -> tuple[str, ...]:
        """Where structure entries may live: the naming contexts holding the bases."""
        if self._naming_contexts is None:
            contexts: tuple[str, ...] = ()
            with suppress(DirectoryError):
                root = self._search(
                    "(objectClass=*)",
                    ["namingContexts"],
                    what=t("dir.ldap.what.naming_contexts"),
                    bases=[""],
                    scope=ldap3.BASE,
                    size_limit=0,
                )
                contexts = tuple(root[0].values("namingContexts")) if root else ()
            chosen = []
            for base in self.settings.bases:
                key = _dn_key(base)
                suffixes = [c for c in contexts if key.endswith(_dn_key(c))]
                chosen.append(max(suffixes, key=len) if suffixes else base)
            self._naming_contexts = tuple(dict.fromkeys(chosen))
        return self._naming_contexts

    def _structures_of(self, uai: str) -> tuple[str, ...]:
        """DNs of the structure entries whose UAI attribute is `uai` (cached)."""
        attribute = self.mapping.preset.structure_uai
        if not attribute:
            return ()
        if uai not in self._structure_dns:
            entries = self._search(
                _equals(attribute, uai),
                ["1.1"],
                what=t("dir.ldap.what.structure_of", uai=uai),
                bases=self._structure_bases(),
            )
            for entry in entries:
                self._structure_uais[_dn_key(entry.dn)] = uai
            self._structure_dns[uai] = tuple(entry.dn for entry in entries)
        return self._structure_dns[uai]

    def _structure_uai(self, dn: str) -> str | None:
        """The UAI of the structure entry `dn` names (cached); None if there is none."""
        key = _dn_key(dn)
        if key not in self._structure_uais:
            attribute = self.mapping.preset.structure_uai
            uai = None
            if attribute:
                found = self._read_one(dn, attribute, t("dir.ldap.what.structure", dn=dn))
                uai = found[0].strip().upper() if found else None
            self._structure_uais[key] = uai
        return self._structure_uais[key]

    def _student_login(self, dn: str) -> str | None:
        """The login of the account a guardian's student DN names (cached)."""
        key = _dn_key(dn)
        if key not in self._student_logins:
            found = self._read_one(
                dn, self.mapping.attribute("login"), t("dir.ldap.what.student", dn=dn)
            )
            self._student_logins[key] = found[0].strip() if found else None
        return self._student_logins[key]

    def _read_one(self, dn: str, attribute: str, what: str) -> list[str]:
        entries = self._search(
            "(objectClass=*)", [attribute], what=what, bases=[dn], scope=ldap3.BASE, size_limit=0
        )
        return entries[0].values(attribute) if entries else []

    def _establishment_filter(self, uai: str) -> str:
        attribute = self.mapping.attribute("uai")
        if not attribute:
            raise DirectoryError(
                t("dir.ldap.no_uai_attribute"), hint=t("dir.ldap.no_uai_attribute_hint")
            )
        values = [uai, *self._structures_of(uai)]
        return _any_of(_equals(attribute, value) for value in values)

    def _category_filter(self, category: Category | None) -> str | None:
        """The profile filter: "" for no restriction, None when the category has no profile."""
        if category is None:
            return ""
        values = self.profiles.profiles_of(category)
        if not values:
            return None
        attribute = self.mapping.attribute("profil")
        if not attribute:
            return ""  # checked on each account instead
        return _any_of(_equals(attribute, value) for value in values)

    # -- accounts -----------------------------------------------------------------------------

    def _accounts(self, entries: Iterable[_Entry]) -> list[DirectoryAccount]:
        accounts, skipped = [], []
        for entry in entries:
            account, why = self.mapping.to_account(
                entry.dn,
                entry.attributes,
                structure_uai=self._structure_uai,
                student_login=self._student_login,
            )
            if account is None:
                skipped.append((entry.dn, why or "unusable"))
            else:
                accounts.append(account)
        self.skipped = skipped
        return accounts

    def _keep(self, account: DirectoryAccount, uai: str | None, category: Category | None) -> bool:
        if uai is not None and uai not in account.establishments:
            return False
        return category is None or self.profiles.matches(account, category)

    def accounts(self, uai: str, category: Category | None = None) -> list[DirectoryAccount]:
        return self._listing(uai, category)

    def linked(self, uai: str) -> list[LinkedAccount]:
        identifier = f"({self.mapping.identifier_attribute}=*)"
        rows = []
        for account in self._listing(uai, None, identifier):
            for idpn in self.form.idpns_for(account.identifiers, uai):
                rows.append(LinkedAccount(account, idpn))
        return rows

    def _listing(
        self, uai: str, category: Category | None, extra: str = ""
    ) -> list[DirectoryAccount]:
        uai = uai.strip().upper()
        by_category = self._category_filter(category)
        if not uai or by_category is None:
            return []
        search_filter = _all_of(
            [self.mapping.person_filter, self._establishment_filter(uai), by_category, extra]
        )
        entries = self._search(
            search_filter, self.mapping.attributes(), what=t("dir.ldap.what.listing", uai=uai)
        )
        accounts = [a for a in self._accounts(entries) if self._keep(a, uai, category)]
        accounts.sort(key=_sort_key(""))
        return accounts

    def get(self, login: str) -> DirectoryAccount | None:
        login = login.strip()
        if not login:
            return None
        search_filter = _all_of(
            [self.mapping.person_filter, _equals(self.mapping.attribute("login"), login)]
        )
        entries = self._search(
            search_filter, self.mapping.attributes(), what=t("dir.ldap.what.account", login=login)
        )
        accounts = self._accounts(entries)
        # Never guess which of two accounts with one login is meant.
        return accounts[0] if len(accounts) == 1 else None

    def holders(self, idpn: str, uai: str) -> list[DirectoryAccount]:
        """Accounts storing `idpn` for `uai`, whatever their establishments."""
        uai = uai.strip().upper()
        value = self.form.format(uai, idpn)
        attribute = self.mapping.identifier_attribute
        entries = self._search(
            _equals(attribute, value),
            self.mapping.attributes(),
            what=t("dir.ldap.what.holders", value=value),
        )
        accounts = self._accounts(entries)
        held = [a for a in accounts if idpn in self.form.idpns_for(a.identifiers, uai)]
        return sorted(held, key=_sort_key(""))

    def search(
        self,
        text: str,
        *,
        uai: str | None = None,
        category: Category | None = None,
        limit: int = DEFAULT_SEARCH_LIMIT,
    ) -> list[DirectoryAccount]:
        query = _Query.parse(text)
        by_category = self._category_filter(category)
        if query is None or limit <= 0 or by_category is None:
            return []
        uai = uai.strip().upper() if uai is not None else None
        parts = [self.mapping.person_filter, query.server_filter(self.mapping, uai is not None)]
        if uai is not None:
            parts.append(self._establishment_filter(uai))
        parts.append(by_category)
        fetch = min(max(limit * SEARCH_FETCH_FACTOR, 50), SEARCH_FETCH_MAX)
        if self.settings.size_limit:
            fetch = min(fetch, self.settings.size_limit)
        entries = self._search(
            _all_of(parts),
            self.mapping.attributes(),
            what=t("dir.ldap.what.search", text=text),
            size_limit=fetch,
            time_limit=self.settings.time_limit or DEFAULT_SEARCH_TIME_LIMIT,
            truncate=True,
        )
        found = [
            a for a in self._accounts(entries) if self._keep(a, uai, category) and query.matches(a)
        ]
        found.sort(key=_sort_key(" ".join(normalise_name(query.text).split())))
        return found[:limit]

    # -- writing ------------------------------------------------------------------------------

    def apply(self, changes: Sequence[IdentifierChange]) -> list[ChangeOutcome]:
        with self._on_provider():
            return _WriteBatch(self, list(changes)).run()

    def establishment_lock(
        self, uai: str, session: str, holder: Mapping[str, Any]
    ) -> DirectoryLease | None:
        """The establishment's lock entry under `[directory.ldap] lock_base`, taken (None
        when no lock_base is set: the local lock alone keeps sessions apart)."""
        if not self.settings.lock_base:
            return None
        with self._on_provider():
            return take_lock(self, uai, session, holder)

    def lock_container_missing(self) -> str | None:
        """Why `lock_base` cannot hold locks (for `config check`), or None: it is there."""
        base = self.settings.lock_base
        try:
            with self._on_provider():
                found = self._search(
                    "(objectClass=*)", ["1.1"], what=base, bases=[base], scope=ldap3.BASE,
                    size_limit=0,
                )  # fmt: skip
        except DirectoryError as error:
            return error.message
        return None if found else t("lock.no_container", base=base)

    # -- what setup and `config check` ask ------------------------------------------------------

    def identifier_field(self) -> str:
        return self.mapping.identifier_attribute

    def census(self, limit: int) -> Census:
        """Accounts per profile and establishment, read as cheaply as the server allows.

        One paged search per base for the person entries asks only for the profile
        and establishment attributes (each attribute read costs about a second per
        100,000 entries in ldap3), counted page by page, never kept. The entries
        idpronote cannot use (no login, no surname) are found first by a search of
        their own, usually empty, and counted apart. A size, time or administrative
        limit stops the count without error (`capped`). Then structure DNs are
        resolved to UAIs, and a sample is looked for with a few small searches.
        """
        mapping = self.mapping
        attributes = list(
            dict.fromkeys(a for a in (mapping.attribute("profil"), mapping.attribute("uai")) if a)
        )
        bases = self.settings.bases
        tally = _Tally(mapping, keep_keys=len(bases) > 1)
        remaining = max(limit, 0)
        for base in bases:
            if remaining <= 0:
                tally.capped = True
                break
            size_limit = remaining
            if self.settings.size_limit:
                size_limit = min(size_limit, self.settings.size_limit)
            unusable = self._scan(
                base,
                _all_of([mapping.person_filter, self._unusable_filter()]),
                [mapping.attribute("login"), mapping.attribute("nom")],
                size_limit,
                t("dir.ldap.what.unusable", base=base),
                lambda: _Unusable(self.mapping),
            )
            part = self._scan(
                base,
                mapping.person_filter,
                attributes,
                size_limit,
                t("dir.ldap.what.counting", base=base),
                lambda unusable=unusable: _Tally(
                    mapping, earlier=tally.keys, unusable=unusable.reasons
                ),
            )
            if part.capped and size_limit == remaining and part.returned >= remaining:
                part.stopped = ""  # the census's own limit, not the server's
            if unusable.capped:
                part.capped, part.stopped = True, part.stopped or unusable.stopped
            tally.merge(part)
            remaining = max(limit, 0) - tally.seen
        return self._census_result(tally)

    def _unusable_filter(self) -> str:
        """Entries `to_account` refuses: no login, or no surname."""
        login, surname = self.mapping.attribute("login"), self.mapping.attribute("nom")
        return f"(|(!({login}=*))(!({surname}=*)))"

    def _scan(
        self,
        base: str,
        search_filter: str,
        attributes: list[str],
        size_limit: int,
        what: str,
        start: Callable[[], _ScanT],
    ) -> _ScanT:
        """A paged search whose entries go to a `_Scan` as they come; a limit stops it
        without error (`capped`). A search retried on a new connection starts afresh."""

        def run(connection: ldap3.Connection) -> _ScanT:
            scan = start()
            cookie = None
            while True:
                connection.search(
                    base,
                    search_filter,
                    search_scope=ldap3.SUBTREE,
                    attributes=attributes or ["1.1"],
                    size_limit=size_limit,
                    time_limit=self.settings.time_limit,
                    paged_size=self.settings.page_size,
                    paged_cookie=cookie,
                )
                result = connection.result or {}
                for response in connection.response or ():
                    if response.get("type") == "searchResEntry":
                        scan.returned += 1
                        scan.add(response)
                code = result.get("result")
                if code in (_SIZE_LIMIT, _TIME_LIMIT, _ADMIN_LIMIT):
                    scan.capped, scan.stopped = True, _server_words(result)
                    return scan
                if code != _SUCCESS:
                    self._search_failed(result, base, what, scan.seen, False)
                    return scan
                controls = result.get("controls") or {}
                paged = controls.get("1.2.840.113556.1.4.319") or {}
                cookie = (paged.get("value") or {}).get("cookie")
                if not cookie:
                    return scan

        return self._run(run, what)

    def _census_result(self, tally: _Tally) -> Census:
        census = Census(total=tally.total, capped=tally.capped)
        census.profiles = spread(tally.profiles)
        resolved = self._resolve_establishments(tally.places)
        unresolved: list[str] = []
        places: Counter[tuple[str, ...]] = Counter()
        for raw, count in tally.places.items():
            uais = []
            for value in raw:
                uai = resolved.get(value)
                if uai is None:
                    uai = value.strip()
                    if uai not in unresolved:
                        unresolved.append(uai)
                uais.append(uai)
            places[tuple(uais)] += count
        census.establishments = spread(places)
        problems = census.problems
        login, surname = self.mapping.attribute("login"), self.mapping.attribute("nom")
        entries = "entry"
        if tally.without_login:
            problems.append(skipped(tally.without_login, entries, login))
        if tally.without_surname:
            problems.append(skipped(tally.without_surname, entries, surname))
        if unresolved:
            problems.append(
                counted(
                    "dir.ldap.unresolved",
                    len(unresolved),
                    attribute=self.mapping.preset.structure_uai,
                    example=unresolved[0],
                )
            )
        if tally.stopped:
            problems.append(
                t(
                    "dir.ldap.count_stopped",
                    seen=tally.seen,
                    stopped=tally.stopped,
                    who=self._who(),
                )
            )
        if tally.total:
            census.sample = self._sample()
        return census

    def _sample(self) -> DirectoryAccount | None:
        """An account showing every field the import relies on, if there is one.

        Small searches, best first: profiles of a category, an establishment and a
        birth date; then without the date; without the establishment; any account.
        The account is then read whole by its login (`get`: never one of two
        entries sharing a login).
        """
        mapping = self.mapping
        present = [f"({mapping.attribute(name)}=*)" for name in ("login", "nom")]
        values = [v for category in CATEGORIES for v in self.profiles.profiles_of(category)]
        profile = mapping.attribute("profil")
        categorised = _any_of(_equals(profile, v) for v in values) if profile else ""
        place, born = mapping.attribute("uai"), mapping.attribute("date_naissance")
        tiers = []
        if categorised and place:
            if born:
                tiers.append(([categorised, f"({place}=*)", f"({born}=*)"], BEST_SAMPLE))
            tiers.append(([categorised, f"({place}=*)"], 2))
        if categorised:
            tiers.append(([categorised], 1))
        tiers.append(([], 0))
        for parts, rank in tiers:
            entries = self._search(
                _all_of([mapping.person_filter, *present, *parts]),
                [mapping.attribute("login")],
                what=t("dir.ldap.what.sample"),
                size_limit=SAMPLE_CANDIDATES,
                time_limit=self.settings.time_limit or DEFAULT_SEARCH_TIME_LIMIT,
                truncate=True,
            )
            for entry in entries:
                login = next(iter(entry.values(mapping.attribute("login"))), "").strip()
                account = self.get(login) if login else None
                if account is not None and sample_rank(account, self.profiles) >= rank:
                    return account
        return None

    def _resolve_establishments(self, places: Mapping[tuple[str, ...], int]) -> dict[str, str]:
        """Raw establishment value -> UAI; structure DNs no entry resolves are left out."""
        values = list(dict.fromkeys(value for raw in places for value in raw))
        dns = [value for value in values if is_dn(value)]
        if len(dns) > WRITERS:
            # Many structures (an academy's directory): read a few at once.
            with ThreadPoolExecutor(WRITERS, thread_name_prefix="ldap-census") as pool:
                uais = list(pool.map(self._structure_uai, dns))
        else:
            uais = [self._structure_uai(dn) for dn in dns]
        resolved = {dn: uai for dn, uai in zip(dns, uais, strict=True) if uai}
        for value in values:
            if not is_dn(value) and value.strip():
                resolved[value] = value.strip().upper()
        return resolved

    def write_check(self, account: DirectoryAccount | None) -> WriteCheck:
        """`_write_check`, on the provider: where idpronote's writes go."""
        with self._on_provider():
            return self._write_check(account)

    def _write_check(self, account: DirectoryAccount | None) -> WriteCheck:
        """May the bind account write the identifier attribute? Asked of the server on
        `account`'s entry, harmlessly: a modify that deletes a value the entry does not
        hold changes nothing, and the server's refusal says why (RFC 4511):
        noSuchAttribute, allowed; insufficientAccessRights, not allowed;
        undefinedAttributeType, the schema lacks the attribute. When the mapping adds
        an auxiliary class the entry lacks, deleting that class too (in the same atomic
        request as the absent value, so nothing can change) checks the right on
        objectClass."""
        attribute = self.mapping.identifier_attribute
        if account is None or not account.dn:
            return WriteCheck(NOT_CHECKED, attribute, t("dir.ldap.check.no_account"))
        dn = account.dn
        entries = self._search(
            "(objectClass=*)",
            [attribute, "objectClass"],
            what=t("dir.ldap.what.before_check", dn=dn),
            bases=[dn],
            scope=ldap3.BASE,
            size_limit=0,
        )
        if not entries:
            return WriteCheck(NOT_CHECKED, attribute, t("dir.ldap.check.unreadable", dn=dn), dn)
        entry = entries[0]
        value = self._absent_value(entry.values(attribute))
        result = self._check_modify(dn, {attribute: [(ldap3.MODIFY_DELETE, [value])]})
        check = self._write_verdict(result, attribute, dn)
        object_class = self.mapping.object_class
        classes = {c.casefold() for c in entry.values("objectClass")}
        if check.status != WRITABLE or not object_class or object_class.casefold() in classes:
            return check
        # Atomic: if the entry had gained the class meanwhile, deleting the absent value
        # still fails, and the whole request with it.
        result = self._check_modify(
            dn,
            {
                "objectClass": [(ldap3.MODIFY_DELETE, [object_class])],
                attribute: [(ldap3.MODIFY_DELETE, [value])],
            },
        )
        code = result.get("result")
        who = self._who()
        if code in (_NO_SUCH_ATTRIBUTE, _SUCCESS):
            return WriteCheck(
                WRITABLE,
                attribute,
                t(
                    "dir.ldap.check.writable_with_class",
                    who=who,
                    attribute=attribute,
                    object_class=object_class,
                    dn=dn,
                ),
                dn,
            )
        if code == _INSUFFICIENT_ACCESS:
            return WriteCheck(
                READ_ONLY,
                attribute,
                t(
                    "dir.ldap.check.no_object_class",
                    who=who,
                    attribute=attribute,
                    object_class=object_class,
                    dn=dn,
                ),
                dn,
            )
        words = self.credentials.scrub(_server_words(result))
        return WriteCheck(
            FAILED,
            attribute,
            self.credentials.scrub(t("dir.ldap.check.class_refused", dn=dn, words=words)),
            dn,
        )

    def _absent_value(self, stored: Iterable[str]) -> str:
        """A value of the identifier form that the entry does not hold."""
        held = {value.casefold() for value in stored}
        for n in range(100):
            idpn = CHECK_IDPN[:-2] + f"{n:02d}"
            value = self.form.format(CHECK_UAI, idpn)
            if value.casefold() not in held:
                return value
        raise DirectoryError(t("dir.ldap.check.every_value"))

    def _check_modify(self, dn: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        def run(connection: ldap3.Connection) -> dict[str, Any]:
            connection.modify(dn, dict(changes))
            return dict(connection.result or {})

        return self._run(run, t("dir.ldap.what.check", dn=dn))

    def _write_verdict(self, result: Mapping[str, Any], attribute: str, dn: str) -> WriteCheck:
        code = result.get("result")
        who = self._who()
        words = self.credentials.scrub(_server_words(result))
        if code in (_NO_SUCH_ATTRIBUTE, _SUCCESS):
            return WriteCheck(
                WRITABLE,
                attribute,
                t("dir.ldap.check.writable", who=who, attribute=attribute, dn=dn),
                dn,
            )
        if code == _INSUFFICIENT_ACCESS:
            return WriteCheck(
                READ_ONLY,
                attribute,
                t("dir.ldap.check.read_only", who=who, attribute=attribute, dn=dn),
                dn,
            )
        if code in (_STRONGER_AUTH_REQUIRED, _CONFIDENTIALITY_REQUIRED):
            fix = t(
                "dir.ldap.check.fix_bind_dn"
                if self.credentials.anonymous
                else "dir.ldap.check.fix_tls"
            )
            return WriteCheck(
                READ_ONLY,
                attribute,
                t(
                    "dir.ldap.check.stronger_auth",
                    who=who,
                    attribute=attribute,
                    dn=dn,
                    words=words,
                    fix=fix,
                ),
                dn,
            )
        if code == _REFERRAL:
            return WriteCheck(
                READ_ONLY,
                attribute,
                t("dir.ldap.check.referral", url=self._connections.last_url),
                dn,
            )
        if code == _UNDEFINED_TYPE:
            return WriteCheck(
                UNKNOWN_ATTRIBUTE,
                attribute,
                t("dir.ldap.check.unknown_attribute", attribute=attribute, words=words),
                dn,
            )
        return WriteCheck(FAILED, attribute, t("dir.ldap.check.refused", dn=dn, words=words), dn)


# -- census ------------------------------------------------------------------------------------


class _Scan:
    """What a paged scan collects (see `LdapDirectory._scan`)."""

    def __init__(self) -> None:
        self.returned = 0  # entries the server sent
        self.seen = 0  # entries read (an entry sent twice, under two bases, is read once)
        self.capped = False
        self.stopped = ""  # the server's words when one of its limits stopped the scan

    def add(self, response: Mapping[str, Any]) -> None:
        raise NotImplementedError


_ScanT = TypeVar("_ScanT", bound=_Scan)


class _Unusable(_Scan):
    """The person entries `to_account` would refuse: DN key -> "login" or "nom"."""

    def __init__(self, mapping: AttributeMapping) -> None:
        super().__init__()
        self.login = mapping.attribute("login").lower()
        self.reasons: dict[str, str] = {}

    def add(self, response: Mapping[str, Any]) -> None:
        self.seen += 1
        entry = _entry(response)
        login = any(v.strip() for v in entry.values(self.login))
        self.reasons[_dn_key(entry.dn)] = "nom" if login else "login"


class _Tally(_Scan):
    """A census in progress: accounts per combination of raw profile values, and per
    combination of raw establishment values, read straight from ldap3's responses."""

    def __init__(
        self,
        mapping: AttributeMapping,
        *,
        earlier: set[str] | None = None,
        unusable: Mapping[str, str] | None = None,
        keep_keys: bool = False,
    ) -> None:
        """`earlier`: DN keys counted under other bases; `unusable`: DN key -> why."""
        super().__init__()
        self.total = 0  # accounts counted
        self.without_login = 0
        self.without_surname = 0
        self.profiles: Counter[tuple[str, ...]] = Counter()
        self.places: Counter[tuple[str, ...]] = Counter()
        # DN keys of the entries counted, when several bases may return one entry twice
        self.keys: set[str] | None = set() if keep_keys or earlier is not None else None
        self.earlier = earlier or set()
        self.unusable = unusable or {}
        self._attributes = {
            name: mapping.attribute(name).lower()
            for name in ("profil", "uai")
            if mapping.attribute(name)
        }
        # attribute as the server spells it -> the fields it holds
        self._fields: dict[str, tuple[str, ...]] = {}

    def add(self, response: Mapping[str, Any]) -> None:
        if self.keys is not None or self.unusable:
            key = _dn_key(response["dn"])
            if self.keys is not None:
                if key in self.keys or key in self.earlier:
                    return
                self.keys.add(key)
            reason = self.unusable.get(key)
            if reason is not None:
                self.seen += 1
                if reason == "login":
                    self.without_login += 1
                else:
                    self.without_surname += 1
                return
        self.seen += 1
        self.total += 1
        profiles: tuple[str, ...] = ()
        places: tuple[str, ...] = ()
        for name, raw in response["raw_attributes"].items():
            fields = self._fields.get(name)
            if fields is None:
                lower = name.lower()
                fields = self._fields[name] = tuple(
                    field for field, attribute in self._attributes.items() if attribute == lower
                )
            if not fields:
                continue
            values = tuple(
                text
                for text in (
                    v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in raw
                )
                if text.strip()
            )
            if "profil" in fields:
                profiles += values
            if "uai" in fields:
                places += values
        self.profiles[profiles] += 1
        self.places[places] += 1

    def merge(self, other: _Tally) -> None:
        """Add a base's tally (counted after this one's) to this one."""
        self.seen += other.seen
        self.total += other.total
        self.capped = self.capped or other.capped
        self.stopped = self.stopped or other.stopped
        self.without_login += other.without_login
        self.without_surname += other.without_surname
        self.profiles.update(other.profiles)
        self.places.update(other.places)
        if self.keys is not None and other.keys is not None:
            self.keys |= other.keys


# -- writing, in rounds -----------------------------------------------------------------------
