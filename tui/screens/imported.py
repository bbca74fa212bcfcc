"""The identifiers already stored for an establishment: look them up, unlink one.

Ten thousand rows must stay responsive: the list is read once in a thread,
the filter runs on precomputed folded text, narrowing removes rows by key
when that is cheap, and a rebuild shows its first rows at once and streams
the rest between keystrokes. An unlink is confirmed, then written through
core.wizard.unlink_account (locked, journaled, undoable).
"""

from __future__ import annotations

import asyncio
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.widgets import DataTable, Footer, Input, Static
from textual.worker import Worker, WorkerState

from core.i18n import register, t
from core.model import ChangeOutcome
from core.text import printable
from core.wizard import unlink_account
from tui.localise import LocalisedScreen
from tui.screens.confirm import ask
from tui.widgets.cells import cell
from tui.widgets.typing import TypingPause

register(
    {
        "tui.imported.title": ("Identifiants Pronote importés", "Imported Pronote identifiers"),
        "tui.imported.count": ("{count} identifiant(s)", "{count} identifier(s)"),
        "tui.imported.count_filtered": (
            "{shown} sur {count} identifiant(s)",
            "{shown} of {count} identifier(s)",
        ),
        "tui.imported.loading": ("lecture de l'annuaire…", "reading the directory…"),
        "tui.imported.load_failed": (
            "Lecture de l'annuaire impossible : {error}",
            "Cannot read the directory: {error}",
        ),
        "tui.imported.placeholder": (
            "filtrer : nom, prénom, login ou identifiant (Entrée : la liste)",
            "filter: surname, first name, login or identifier (Enter: the list)",
        ),
        "tui.imported.col_idpn": ("Identifiant", "Identifier"),
        "tui.imported.col_surname": ("Nom", "Surname"),
        "tui.imported.col_first": ("Prénom", "First name"),
        "tui.imported.col_login": ("Login", "Login"),
        "tui.imported.confirm_title": (
            "Retirer cet identifiant Pronote de l'annuaire ?",
            "Remove this Pronote identifier from the directory?",
        ),
        "tui.imported.confirm_account": ("Compte : {login} ({name})", "Account: {login} ({name})"),
        "tui.imported.confirm_idpn": ("Identifiant : {idpn}", "Identifier: {idpn}"),
        "tui.imported.confirm_uai": ("Établissement : {uai}", "Establishment: {uai}"),
        "tui.imported.confirm_undo": (
            "Le retrait est journalisé : idpronote history puis undo pour revenir en arrière.",
            "The removal is journaled: idpronote history, then undo, to revert it.",
        ),
        "tui.imported.yes": ("Retirer", "Remove"),
        "tui.imported.no": ("Garder", "Keep"),
        "tui.imported.unlinked": (
            "Identifiant {idpn} retiré du compte {login}",
            "Identifier {idpn} removed from account {login}",
        ),
        "tui.imported.unlink_refused": (
            "{login} : identifiant non retiré ({reason})",
            "{login}: identifier not removed ({reason})",
        ),
        "tui.imported.unlink_failed": (
            "Retrait impossible : {error}",
            "Cannot remove the identifier: {error}",
        ),
        "tui.imported.key_back": ("Retour", "Back"),
        "tui.imported.key_filter": ("Filtrer", "Filter"),
        "tui.imported.key_unlink": ("Retirer", "Remove"),
    }
)

# Rows added at once when the table is rebuilt; the rest follow between keystrokes.
CHUNK = 200
# DataTable.remove_row costs a pass over every row: past this many
# (rows x removals), rebuilding is cheaper.
REMOVE_BUDGET = 50_000
DEBOUNCE_SECONDS = 0.15
FINISHED = (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED)


def fold(text: str) -> str:
    """Comparison form for the filter: no case, no accents."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


class FilterField(Input):
    """The filter words. Enter goes to the list, in turn with the keys typed before it."""

    BINDINGS = [Binding("enter", "screen.to_table", show=False, id="imported.to_table")]


class ImportedTable(DataTable[Text]):
    """A list of rows: Home and End go to the first and last row, not sideways."""

    BINDINGS = [
        Binding("home", "scroll_top", show=False, id="imported.first"),
        Binding("end", "scroll_bottom", show=False, id="imported.last"),
    ]


@dataclass(frozen=True, slots=True)
class ImportedRow:
    """One stored identifier: raw values to write with, folded text to filter on."""

    key: str
    idpn: str
    login: str
    surname: str
    first_name: str
    folded: str

    @property
    def cells(self) -> tuple[Text, ...]:
        return (cell(self.idpn), cell(self.surname), cell(self.first_name), cell(self.login))


def build_rows(linked: list[Any]) -> list[ImportedRow]:
    """Rows of `directory.linked(uai)`, sorted by name, one per (login, identifier)."""
    rows: dict[str, ImportedRow] = {}
    for item in linked:
        account = item.account
        key = f"{account.login}\x1f{item.idpn}"
        shown = (item.idpn, account.surname, account.first_name, account.login)
        rows[key] = ImportedRow(
            key,
            item.idpn,
            account.login,
            account.surname,
            account.first_name,
            fold(" ".join(printable(v) for v in shown)),
        )
    return sorted(
        rows.values(),
        key=lambda r: (fold(r.surname), fold(r.first_name), r.login.casefold(), r.idpn),
    )


class ImportedScreen(LocalisedScreen[None]):
    """Identifiers stored for one establishment, filterable, each removable."""

    DEFAULT_CSS = """
    ImportedScreen #imported-heading {
        height: 1;
        padding: 0 1;
        text-style: bold;
    }
    ImportedScreen #imported-filter {
        margin: 0 1;
    }
    ImportedScreen #imported-table {
        height: 1fr;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
    }
    """

    # The list first: x and Delete act at once; / reaches the filter.
    AUTO_FOCUS = "#imported-table"

    BINDINGS = [
        Binding("escape", "back", t("tui.imported.key_back"), id="imported.back"),
        # Priority: run on arrival, so the letters typed right after it (same SSH packet)
        # already go to the filter. It stands aside while the filter has focus.
        Binding(
            "slash", "filter", t("tui.imported.key_filter"), priority=True, id="imported.filter"
        ),
        Binding("x,delete", "unlink", t("tui.imported.key_unlink"), id="imported.unlink"),
        # From the filter field, Up/Down still walk the list.
        Binding("up", "move('up')", show=False, id="imported.up"),
        Binding("down", "move('down')", show=False, id="imported.down"),
        Binding("pageup", "move('page_up')", show=False, id="imported.page_up"),
        Binding("pagedown", "move('page_down')", show=False, id="imported.page_down"),
    ]

    def __init__(self, directory: Any, *, uai: str, data_dir: Path | None) -> None:
        super().__init__()
        self.directory = directory
        self.uai = uai.strip().upper()
        self.data_dir = data_dir
        self._rows: dict[str, ImportedRow] = {}
        self._order: list[str] = []
        # What the table shows once filled, in order (it may still be filling).
        self._shown: list[str] = []
        self._loaded = False
        self._unlinking = False
        self._pause = TypingPause(self, self._apply_filter)

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="imported-heading")
        yield FilterField(placeholder=t("tui.imported.placeholder"), id="imported-filter")
        yield ImportedTable(id="imported-table", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        table = self._table()
        table.add_column(t("tui.imported.col_idpn"), key="idpn", width=16)
        table.add_column(t("tui.imported.col_surname"), key="surname", width=19)
        table.add_column(t("tui.imported.col_first"), key="first", width=14)
        table.add_column(t("tui.imported.col_login"), key="login", width=21)
        table.loading = True
        self._heading(t("tui.imported.loading"))
        self._load()

    def _table(self) -> DataTable[Text]:
        return self.query_one("#imported-table", DataTable)

    def _heading(self, status: str) -> None:
        text = Text()
        text.append(t("tui.imported.title"))
        text.append(f" · {printable(self.uai)} · {status}")
        self.query_one("#imported-heading", Static).update(text)

    def _count(self) -> None:
        total, shown = len(self._order), len(self._shown)
        if shown == total:
            self._heading(t("tui.imported.count", count=total))
        else:
            self._heading(t("tui.imported.count_filtered", shown=shown, count=total))

    # -- loading --------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def _load(self) -> None:
        rows = build_rows(self.directory.linked(self.uai))
        self.app.call_from_thread(self._show_loaded, rows)

    def _show_loaded(self, rows: list[ImportedRow]) -> None:
        if not self.is_attached:
            return
        self._rows = {row.key: row for row in rows}
        self._order = [row.key for row in rows]
        self._loaded = True
        self._table().loading = False
        self._apply_filter()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "unlink" and event.state in FINISHED:
            self._unlinking = False
        if event.state is not WorkerState.ERROR:
            return
        error = printable(str(event.worker.error))
        if event.worker.group == "load":
            self._table().loading = False
            message = t("tui.imported.load_failed", error=error)
            self._heading(message)
            self.notify(message, severity="error", timeout=15)
        elif event.worker.group == "unlink":
            self.notify(t("tui.imported.unlink_failed", error=error), severity="error", timeout=15)

    # -- filtering ------------------------------------------------------------------------

    @on(Input.Changed, "#imported-filter")
    def _typed(self, event: Input.Changed) -> None:
        self._pause.typed(event, DEBOUNCE_SECONDS)

    def action_to_table(self) -> None:
        # The list as filtered by every word typed, and focused now, not after the
        # keys that follow: they are meant for the list.
        if self._pause.pending:
            self._apply_filter()
        self.set_focus(self._table())

    def _apply_filter(self) -> None:
        self._pause.stop()
        if not self._loaded:
            return
        words = fold(self.query_one("#imported-filter", Input).value).split()
        if words:
            rows = self._rows
            keys = [k for k in self._order if all(w in rows[k].folded for w in words)]
        else:
            keys = list(self._order)
        self._show(keys)

    def _show(self, keys: list[str]) -> None:
        """Make the table show `keys`, in order, touching as few rows as it can."""
        table = self._table()
        if keys == self._shown and table.row_count == len(keys):
            self._count()
            return
        kept = set(keys)
        removed = [k for k in self._shown if k not in kept]
        filled = table.row_count == len(self._shown)
        narrowing = filled and len(keys) + len(removed) == len(self._shown)
        if narrowing and table.row_count * len(removed) <= REMOVE_BUDGET:
            with self.app.batch_update():
                for key in removed:
                    table.remove_row(key)
            self._shown = keys
        else:
            self._rebuild(keys)
        self._count()

    def _rebuild(self, keys: list[str]) -> None:
        table = self._table()
        highlighted = self._highlighted_key()
        self.workers.cancel_group(self, "fill")
        self._shown = keys
        with self.app.batch_update():
            table.clear()
            for key in keys[:CHUNK]:
                table.add_row(*self._rows[key].cells, key=key)
        if highlighted is not None and highlighted in set(keys[:CHUNK]):
            table.move_cursor(row=table.get_row_index(highlighted), scroll=True)
        if len(keys) > CHUNK:
            self._fill(keys, CHUNK)

    @work(exclusive=True, group="fill", exit_on_error=False)
    async def _fill(self, keys: list[str], start: int) -> None:
        table = self._table()
        for begin in range(start, len(keys), CHUNK):
            # Let keystrokes and repaints through between chunks.
            await asyncio.sleep(0)
            with self.app.batch_update():
                for key in keys[begin : begin + CHUNK]:
                    row = self._rows.get(key)
                    if row is not None:  # not unlinked meanwhile
                        table.add_row(*row.cells, key=key)

    # -- moving ---------------------------------------------------------------------------

    def action_filter(self) -> None:
        # Focus now, not after the keys already typed: they belong to the filter.
        self.set_focus(self.query_one("#imported-filter", Input))

    def action_move(self, how: str) -> None:
        table = self._table()
        getattr(table, f"action_{'cursor_' if how in ('up', 'down') else ''}{how}")()

    def action_back(self) -> None:
        self.app.pop_screen()

    def _highlighted_key(self) -> str | None:
        table = self._table()
        if not table.row_count:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return row_key.value

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # In the filter field, x and Delete edit the text: do not promise otherwise.
        if action in ("unlink", "filter"):
            try:
                return not self.query_one("#imported-filter", Input).has_focus
            except NoMatches:
                return True
        return True

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()

    # -- unlinking ------------------------------------------------------------------------

    def action_unlink(self) -> None:
        key = self._highlighted_key()
        row = self._rows.get(key) if key is not None else None
        # One write at a time: a second one would only find the establishment locked.
        if row is None or self._unlinking:
            self.app.bell()
            return
        name = printable(f"{row.surname} {row.first_name}".strip())
        lines = [
            t("tui.imported.confirm_account", login=printable(row.login), name=name),
            t("tui.imported.confirm_idpn", idpn=printable(row.idpn)),
            t("tui.imported.confirm_uai", uai=printable(self.uai)),
        ]
        if self.data_dir is not None:
            lines += ["", t("tui.imported.confirm_undo")]

        def unlink() -> None:
            if not self._unlinking:
                self._unlinking = True
                self._unlink(row)

        ask(self.app, t("tui.imported.confirm_title"), lines, yes=t("tui.imported.yes"),
            no=t("tui.imported.no"), then=unlink)  # fmt: skip

    # Not exclusive: a new worker would not stop the thread of a write under way, so the
    # screen allows one write at a time instead (see action_unlink).
    @work(thread=True, group="unlink", exit_on_error=False)
    def _unlink(self, row: ImportedRow) -> None:
        outcome = unlink_account(
            self.directory, self.uai, row.login, row.idpn, data_dir=self.data_dir
        )
        self.app.call_from_thread(self._unlinked, row, outcome)

    def _unlinked(self, row: ImportedRow, outcome: ChangeOutcome) -> None:
        login = printable(row.login)
        if not outcome.applied:
            reason = printable(outcome.reason or "")
            self.notify(
                t("tui.imported.unlink_refused", login=login, reason=reason),
                severity="error",
                timeout=15,
            )
            return
        self._forget(row.key)
        self.notify(t("tui.imported.unlinked", idpn=printable(row.idpn), login=login))

    def _forget(self, key: str) -> None:
        self._rows.pop(key, None)
        if key in self._order:
            self._order.remove(key)
        if key in self._shown:
            self._shown = [k for k in self._shown if k != key]
            table = self._table()
            # A row still waiting for the filling worker is simply never added.
            if key in table.rows:
                table.remove_row(key)
        self._count()
