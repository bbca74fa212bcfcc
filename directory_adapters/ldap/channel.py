"""The LDAP adapter's way to the servers: which pool an operation uses, and the reads.

Reads go to `url` (the consumers, the provider last); writes, and the reads that
must see them, to `write_url` (the provider): see `on_provider`. A read runs on
a lent connection, a broken link retried once on a new one; a search is paged
under every base, each entry once. Every ldap3 failure becomes a
`DirectoryError` saying which server, what happened and what to check; the
bind password is never part of a message.

`LdapDirectory`, the write rounds (`write.py`, `lookup.py`) and the lock
(`lock.py`) are each given the one `Channel` of a directory: none of them
reaches into another's private parts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import ldap3
from ldap3.core import exceptions as ldap_errors

from core.errors import DirectoryError
from core.i18n import t
from directory_adapters.credentials import BindCredentials
from directory_adapters.ldap import messages as _messages  # noqa: F401  (registers the words)
from directory_adapters.ldap.connection import (
    _ADMIN_LIMIT,
    _INSUFFICIENT_ACCESS,
    _NO_SUCH_OBJECT,
    _SIZE_LIMIT,
    _SUCCESS,
    _TIME_LIMIT,
    _Connections,
    _server_words,
    _short,
)
from directory_adapters.ldap.query import _dn_key, _Entry, _entry
from directory_adapters.ldap.settings import LdapSettings

# The paged results control (RFC 2696), as ldap3 names it in a result's controls.
_PAGED_RESULTS = "1.2.840.113556.1.4.319"


class Channel:
    """One directory's connection pools (readers, writers) and its low-level reads."""

    def __init__(self, settings: LdapSettings, credentials: BindCredentials) -> None:
        self.settings = settings
        self.credentials = credentials
        # Does the server offer the post-read control (RFC 4527)? Read once, on the
        # first write (write.py).
        self.post_read: bool | None = None
        self.readers = _Connections(settings, credentials, settings.read_urls)
        self.writers = self.readers
        self._route = threading.local()
        if settings.write_url is not None:
            self.writers = _Connections(settings, credentials, (settings.write_url,))

    @property
    def connections(self) -> _Connections:
        """The connections this thread's next operation uses (see `on_provider`)."""
        return self.writers if getattr(self._route, "provider", False) else self.readers

    @contextmanager
    def on_provider(self) -> Iterator[None]:
        """Within: every operation of this thread goes to the provider. A write round's
        reads (what an entry holds before, after, the holders of a value) must see the
        provider's state, not a consumer's that replication has not reached yet."""
        before = getattr(self._route, "provider", False)
        self._route.provider = True
        try:
            yield
        finally:
            self._route.provider = before

    def close(self) -> None:
        self.readers.close()
        self.writers.close()

    def run(self, operation: Callable[[ldap3.Connection], Any], what: str) -> Any:
        """Run a read on a lent connection; a broken link is retried once on a new one."""
        for attempt in (1, 2):
            try:
                with self.connections.lend() as connection:
                    return operation(connection)
            except ldap_errors.LDAPCommunicationError as error:
                if attempt == 2:
                    raise self.lost(error, what) from None
            except ldap_errors.LDAPException as error:
                raise DirectoryError(
                    self.credentials.scrub(t("dir.ldap.error", what=what, error=_short(str(error))))
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def lost(self, error: Exception, what: str) -> DirectoryError:
        text = self.credentials.scrub(_short(str(error)))
        if "timed out" in text:
            return DirectoryError(
                t(
                    "dir.ldap.no_answer",
                    url=self.connections.last_url,
                    seconds=f"{self.settings.receive_timeout:g}",
                    what=what,
                ),
                hint=t("dir.ldap.no_answer_hint"),
            )
        return DirectoryError(
            t("dir.ldap.lost", url=self.connections.last_url, what=what, error=text),
            hint=t("dir.ldap.lost_hint"),
        )

    def search(
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
            for page, result in self.pages(
                connection,
                base,
                search_filter,
                attributes,
                scope=scope,
                size_limit=size_limit,
                time_limit=time_limit,
            ):
                entries += [_entry(r) for r in page]
                if result.get("result") != _SUCCESS:
                    self.search_failed(result, base, what, len(entries), truncate)
            return entries

        return self.run(run, what)

    def pages(
        self,
        connection: ldap3.Connection,
        base: str,
        search_filter: str,
        attributes: Sequence[str],
        *,
        scope: str = ldap3.SUBTREE,
        size_limit: int,
        time_limit: int,
    ) -> Iterator[tuple[list[dict[str, Any]], dict[str, Any]]]:
        """One search on `connection`, asked page by page (RFC 2696; a BASE read is one
        page): (the page's entries as ldap3 gives them, the page's result), until a
        page whose result is not success, or the last one. `search` keeps the
        entries; the census counts them as they come (census.py)."""
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
            yield (
                [r for r in connection.response or () if r.get("type") == "searchResEntry"],
                result,
            )
            if result.get("result") != _SUCCESS:
                return
            paged = (result.get("controls") or {}).get(_PAGED_RESULTS) or {}
            cookie = (paged.get("value") or {}).get("cookie")
            if not cookie:
                return

    def search_failed(
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
                    url=self.connections.last_url,
                    count=count,
                    what=what,
                    words=_server_words(result),
                ),
                hint=t(f"{limit}_hint", who=self.who()),
            )
        if code == _NO_SUCH_OBJECT:
            if base == "" or self.is_configured_base(base):
                raise DirectoryError(
                    t("dir.ldap.no_base", base=base, url=self.connections.last_url),
                    hint=t("dir.ldap.no_base_hint"),
                )
            return  # a DN read on its own (a structure, a student) that is gone
        if code == _INSUFFICIENT_ACCESS:
            raise DirectoryError(
                t("dir.ldap.no_read_access", who=self.who(), base=base, what=what),
                hint=t("dir.ldap.no_read_access_hint"),
            )
        raise DirectoryError(
            t(
                "dir.ldap.search_refused",
                url=self.connections.last_url,
                what=what,
                words=_server_words(result),
            )
        )

    def who(self) -> str:
        """The bind DN, or "anonymous" (for messages)."""
        return self.credentials.bind_dn or t("dir.ldap.anonymous")

    def is_configured_base(self, base: str) -> bool:
        return _dn_key(base) in {_dn_key(b) for b in self.settings.bases}
