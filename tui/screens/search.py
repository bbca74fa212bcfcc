"""Find the ENT account of a Pronote record by hand: search as you type, pick, link.

The admin types, the results follow (a debounced, exclusive thread worker, so
a slow directory never holds the keyboard); the accounts that matching
suggested come first, marked ★. Up and Down move in the results while the
cursor stays in the search field; Enter links the highlighted account (once
the results are those of the words typed), Escape cancels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.markup import escape
from textual.widgets import DataTable, Footer, Input, Static
from textual.worker import Worker, WorkerState, get_current_worker

from core.errors import IdpronoteError
from core.i18n import language, number, register, t
from core.model import Category, DirectoryAccount, PronoteAccount
from core.text import printable
from tui.localise import LocalisedModal
from tui.screens.search_record import (
    LinkCheck,
    account_details,
    record_text,
    result_cells,
    result_columns,
)
from tui.widgets.tables import FittedTable
from tui.widgets.typing import TypingPause

register(
    {
        "tui.search.title": (
            "Rechercher un compte ENT — {category}",
            "Find an ENT account — {category}",
        ),
        "tui.search.title_for": (
            "Compte ENT de {who} — {category}",
            "ENT account of {who} — {category}",
        ),
        "tui.search.placeholder": (
            "nom, prénom ou login",
            "surname, first name or login",
        ),
        "tui.search.filter_profiles": ("F2 profils {category}", "F2 {category} profiles"),
        "tui.search.filter_establishment": ("F3 établissement {uai}", "F3 establishment {uai}"),
        "tui.search.searching": ("Recherche…", "Searching…"),
        "tui.search.count": ("{count} compte(s)", "{count} account(s)"),
        "tui.search.none": ("Aucun compte pour « {query} »", "No account for '{query}'"),
        "tui.search.widen": ("F2/F3 pour élargir", "F2/F3 to widen"),
        "tui.search.type": (
            "Tapez un nom, un prénom ou un login",
            "Type a surname, first name or login",
        ),
        "tui.search.error": ("Annuaire indisponible : {error}", "Directory unavailable: {error}"),
        "tui.search.failed": ("Recherche impossible : {error}", "Search failed: {error}"),
        "tui.search.key_link": ("Relier", "Link"),
        "tui.search.key_profiles": ("Profils", "Profiles"),
        "tui.search.key_establishment": ("Établissement", "Establishment"),
        "tui.search.key_cancel": ("Annuler", "Cancel"),
        # issue 16: big steps
        "tui.search.count_of": (
            "{total} comptes, les {limit} premiers",
            "{total} accounts, the first {limit}",
        ),
        "tui.search.count_over": (
            "plus de {total} comptes, les {limit} premiers",
            "more than {total} accounts, the first {limit}",
        ),
        "tui.search.proposed": ("★ proposé", "★ suggested"),
    }
)

SEARCH_LIMIT = 50
# Counted beyond the rows shown, where the directory can count cheaply (files).
COUNT_CAP = 10_000
# Long enough to let a word be typed, short enough to feel live.
DEBOUNCE_SECONDS = 0.15
# The words, the establishment filter, the profile filter.
Request = tuple[str, str | None, Category | None]


class SearchField(Input):
    """The search words. Enter links the highlighted account.

    Bound here, not on the dialog with priority: a priority binding runs as
    soon as the key arrives, ahead of the keys typed just before it, which
    over a slow SSH link arrive in the same packet.
    """

    BINDINGS = [Binding("enter", "screen.link", t("tui.search.key_link"), id="search.link")]


class SearchDialog(LocalisedModal[DirectoryAccount | None]):
    """Search the directory for an account; dismisses the chosen one, or None."""

    DEFAULT_CSS = """
    SearchDialog {
        align: center middle;
    }
    SearchDialog > #search-box {
        width: 100%;
        max-width: 110;
        height: 1fr;
        max-height: 40;
        border: thick $primary;
        background: $surface;
    }
    SearchDialog #search-input {
        margin: 0 1;
    }
    SearchDialog #search-filters, SearchDialog #search-status {
        height: 1;
        padding: 0 1;
    }
    SearchDialog #search-status.error {
        color: $error;
        text-style: bold;
    }
    SearchDialog #search-results {
        height: 1fr;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
    }
    SearchDialog #search-results > .datatable--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: bold;
    }
    SearchDialog #search-record {
        height: auto;
        max-height: 3;
        padding: 0 1;
        color: $text-accent;
    }
    SearchDialog #search-details {
        /* an account's lines, and above them why Enter would be refused */
        height: auto;
        min-height: 6;
        max-height: 9;
        border-top: solid $primary;
        padding: 0 1;
    }
    """

    AUTO_FOCUS = "#search-input"

    BINDINGS = [
        Binding("f2", "toggle_profiles", t("tui.search.key_profiles"), id="search.profiles"),
        Binding(
            "f3",
            "toggle_establishment",
            t("tui.search.key_establishment"),
            id="search.establishment",
        ),
        Binding("escape", "cancel", t("tui.search.key_cancel"), id="search.cancel"),
        Binding("up", "move('up')", show=False, id="search.up"),
        Binding("down", "move('down')", show=False, id="search.down"),
        Binding("pageup", "move('page_up')", show=False, id="search.page_up"),
        Binding("pagedown", "move('page_down')", show=False, id="search.page_down"),
    ]

    def __init__(
        self,
        directory: Any,
        *,
        uai: str,
        category: Category,
        query: str,
        candidates: Sequence[str] = (),
        title: str = "",
        record: PronoteAccount | None = None,
        children: Sequence[tuple[PronoteAccount, str | None]] | None = None,
        check: LinkCheck | None = None,
    ) -> None:
        super().__init__()
        self.directory = directory
        self.uai = uai.strip().upper()
        self.category = category
        self.query_text = printable(query)
        self.candidate_logins = tuple(candidates)
        self.title_text = printable(title)
        # The Pronote record being linked, a guardian's children in the file (None:
        # not a guardian), and what stands in the way of a link to each account.
        self.pronote_record = record
        self.record_children = children
        self.link_check = check
        self._total: int | None = 0
        self.by_profile = True
        self.by_establishment = True
        # Fetched once, with the first search (directory.get may be slow too).
        self._candidates: list[DirectoryAccount] | None = None
        self._accounts: dict[str, DirectoryAccount] = {}
        self._pause = TypingPause(self, self._search_now)
        # The search last started, and the one whose results are on screen.
        self._last_request: Request | None = None
        self._shown_request: Request | None = None

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        label = self.category.label(language())
        box = Vertical(id="search-box")
        if self.title_text:
            # A border title is markup: the name read from the file is escaped.
            who = escape(self.title_text)
            box.border_title = t("tui.search.title_for", who=who, category=label)
        else:
            box.border_title = t("tui.search.title", category=label)
        with box:
            yield SearchField(
                value=self.query_text,
                placeholder=t("tui.search.placeholder"),
                id="search-input",
            )
            yield Static(id="search-filters")
            if self.pronote_record is not None:
                yield Static(
                    record_text(self.pronote_record, self.record_children), id="search-record"
                )
            yield Static(id="search-status")
            table = FittedTable(
                result_columns(self.by_establishment), id="search-results", cursor_type="row"
            )
            # The keyboard stays in the search field; Up/Down reach the table.
            table.can_focus = False
            yield table
            yield Static(id="search-details")
        yield Footer()

    def on_mount(self) -> None:
        self._columns()
        self._show_filters()
        self._show_details(None)
        self._search_now()

    def _columns(self) -> None:
        table = self.query_one("#search-results", FittedTable)
        table.set_columns(result_columns(self.by_establishment))

    # -- searching ------------------------------------------------------------------------

    @on(Input.Changed, "#search-input")
    def _typed(self, event: Input.Changed) -> None:
        self._pause.typed(event, DEBOUNCE_SECONDS)

    def _request(self) -> Request:
        return (
            self.query_one("#search-input", Input).value,
            self.uai if self.by_establishment else None,
            self.category if self.by_profile else None,
        )

    def _search_now(self) -> None:
        self._pause.stop()
        request = self._request()
        if request == self._last_request:
            return
        self._last_request = request
        self._set_status(Text(t("tui.search.searching")))
        self._search(request)

    @work(thread=True, exclusive=True, group="search", exit_on_error=False)
    def _search(self, request: Request) -> None:
        text, uai, category = request
        worker = get_current_worker()
        candidates = self._candidates
        if candidates is None:
            found = (self.directory.get(login) for login in self.candidate_logins)
            candidates = [account for account in found if account is not None]
        results: list[DirectoryAccount] = []
        total: int | None = 0
        if text.strip():
            # One more than shown: whether there are more is known without a count.
            results = self.directory.search(
                text, uai=uai, category=category, limit=SEARCH_LIMIT + 1
            )
            total = len(results)
            if total > SEARCH_LIMIT:
                results = results[:SEARCH_LIMIT]
                count = getattr(self.directory, "count", None)
                # None (LDAP): only reading every match would tell; "more than 50" it is.
                total = (
                    count(text, uai=uai, category=category, cap=COUNT_CAP)
                    if count is not None
                    else None
                )
        if not worker.is_cancelled:
            self.app.call_from_thread(self._show_results, request, candidates, results, total)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "search" or event.state is not WorkerState.ERROR:
            return
        # Search again with the same words once the admin changes something.
        self._last_request = None
        error = event.worker.error
        key = "tui.search.error" if isinstance(error, IdpronoteError) else "tui.search.failed"
        self._set_status(Text(t(key, error=printable(str(error)))), error=True)

    def _show_results(
        self,
        request: Request,
        candidates: list[DirectoryAccount],
        results: list[DirectoryAccount],
        total: int | None = 0,
    ) -> None:
        if not self.is_attached:
            return
        text = request[0]
        self._total = total
        self._shown_request = request
        self._candidates = candidates
        table = self.query_one("#search-results", DataTable)
        previous = self._highlighted_login()
        rows: list[tuple[DirectoryAccount, bool]] = []
        seen: set[str] = set()
        for account, suggested in [(a, True) for a in candidates] + [(a, False) for a in results]:
            key = account.login.casefold()
            if key not in seen:
                seen.add(key)
                rows.append((account, suggested))
        keys = [account.login.casefold() for account, _ in rows]
        current = [row.key.value for row in table.ordered_rows]
        with self.app.batch_update():
            if keys == current:
                # The same accounts: refresh their cells in place.
                columns = [spec.key for spec in table.specs]
                for account, suggested in rows:
                    key = account.login.casefold()
                    cells = self._cells(account, suggested)
                    for column, value in zip(columns, cells, strict=True):
                        table.update_cell(key, column, value)
            else:
                table.clear()
                for account, suggested in rows:
                    table.add_row(*self._cells(account, suggested), key=account.login.casefold())
        self._accounts = {account.login.casefold(): account for account, _ in rows}
        if previous in self._accounts:
            table.move_cursor(row=table.get_row_index(previous))
        elif rows:
            table.move_cursor(row=0)
        self._show_details(self._highlighted_account())
        self._set_status(self._status(text, candidates, results))

    def _obstacle(self, account: DirectoryAccount) -> str | None:
        return self.link_check(account) if self.link_check is not None else None

    def _cells(self, account: DirectoryAccount, suggested: bool) -> list[Text]:
        return result_cells(account, suggested, self._obstacle(account), self.by_establishment)

    def _status(
        self, text: str, candidates: list[DirectoryAccount], results: list[DirectoryAccount]
    ) -> Text:
        shown = len(self._accounts)
        parts: list[str] = []
        if shown:
            total = self._total
            if len(results) < SEARCH_LIMIT or total == len(results):
                parts.append(t("tui.search.count", count=number(shown)))
            elif total is None:
                parts.append(
                    t("tui.search.count_over", total=number(SEARCH_LIMIT), limit=SEARCH_LIMIT)
                )
            elif total >= COUNT_CAP:
                parts.append(t("tui.search.count_over", total=number(total), limit=SEARCH_LIMIT))
            else:
                parts.append(t("tui.search.count_of", total=number(total), limit=SEARCH_LIMIT))
            if candidates:
                parts.append(t("tui.search.proposed"))
        elif text.strip():
            parts.append(t("tui.search.none", query=printable(text.strip())))
        else:
            parts.append(t("tui.search.type"))
        if text.strip() and not results and (self.by_profile or self.by_establishment):
            parts.append(t("tui.search.widen"))
        return Text(" · ".join(parts))

    def _set_status(self, status: Text, *, error: bool = False) -> None:
        widget = self.query_one("#search-status", Static)
        widget.set_class(error, "error")
        widget.update(status)

    # -- filters --------------------------------------------------------------------------

    def _show_filters(self) -> None:
        def box(on: bool) -> str:
            return "[x]" if on else "[ ]"

        label = self.category.label(language())
        line = Text()
        line.append(f"{box(self.by_profile)} ")
        line.append(t("tui.search.filter_profiles", category=label))
        line.append("   ")
        line.append(f"{box(self.by_establishment)} ")
        line.append(t("tui.search.filter_establishment", uai=printable(self.uai)))
        self.query_one("#search-filters", Static).update(line)

    def action_toggle_profiles(self) -> None:
        self.by_profile = not self.by_profile
        self._show_filters()
        self._search_now()

    def action_toggle_establishment(self) -> None:
        self.by_establishment = not self.by_establishment
        self._show_filters()
        # Other columns: the rows are made again with the next results.
        self._columns()
        self._accounts = {}
        self._search_now()

    # -- the highlighted account ----------------------------------------------------------

    def _highlighted_login(self) -> str | None:
        table = self.query_one("#search-results", DataTable)
        if not table.row_count:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return row_key.value

    def _highlighted_account(self) -> DirectoryAccount | None:
        login = self._highlighted_login()
        return self._accounts.get(login) if login is not None else None

    @on(DataTable.RowHighlighted, "#search-results")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_details(self._accounts.get(event.row_key.value or ""))

    def _show_details(self, account: DirectoryAccount | None) -> None:
        details = self.query_one("#search-details", Static)
        if account is None:
            details.update(account_details(None, None, None, self.uai))
            return
        obstacle = self._obstacle(account)
        details.update(account_details(account, obstacle, self.directory.form, self.uai))

    # -- the admin's answer ---------------------------------------------------------------

    def action_move(self, how: str) -> None:
        table = self.query_one("#search-results", DataTable)
        getattr(table, f"action_{'cursor_' if how in ('up', 'down') else ''}{how}")()

    def action_link(self) -> None:
        if self._request() != self._shown_request:
            # The results on screen are not those of the words typed (yet): search
            # now and let the admin see what Enter would link.
            self._search_now()
            return
        account = self._highlighted_account()
        if account is None:
            self.app.bell()
            return
        self.dismiss(account)

    def action_cancel(self) -> None:
        self.dismiss(None)
