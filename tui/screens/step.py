"""One step of the wizard: recognised and unrecognised accounts, links, validate, interrupt.

The screen holds the keys and the layout; what its tables show is in `step_rows`, what its
confirmations say in `step_dialogs`, Validate's progress and result in `step_progress`.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import (
    DataTable,
    Footer,
    Header,
    Input,
    LoadingIndicator,
    ProgressBar,
    Static,
)

from core.errors import IdpronoteError
from core.i18n import language, register, t
from core.matching import Decision
from core.model import Category
from core.wizard import ImportSession
from tui.localise import LocalisedScreen
from tui.screens.step_bulk import BulkDecisions
from tui.screens.step_rows import (
    FilterField,
    decision_detail,
    decision_row,
    headings,
    obsolete_columns,
    obsolete_detail,
    obsolete_row,
    recognised_columns,
    unrecognised_columns,
)
from tui.screens.step_validate import Validating, WriteProgress
from tui.widgets.tables import RowTable, share_heights
from tui.widgets.typing import escape_pasted

__all__ = ["FilterField", "StepScreen", "WriteProgress"]

register(
    {
        "tui.step.title": (
            "Étape {step}/{total} : rapprochement des {category}",
            "Step {step}/{total}: matching {category}",
        ),
        "tui.key.search": ("Parcourir", "Browse"),
        "tui.key.clear": ("Effacer", "Clear"),
        "tui.key.reject": ("Refuser/rétablir", "Reject/restore"),
        "tui.key.next": ("Non reconnu suivant", "Next unrecognised"),
        "tui.key.previous": ("Non reconnu précédent", "Previous unrecognised"),
        "tui.key.switch": ("Tableau suivant", "Next table"),
        "tui.key.keep": ("Garder/retirer", "Keep/remove"),
        "tui.key.validate": ("Valider", "Validate"),
        "tui.key.interrupt": ("Interrompre", "Interrupt"),
        # issue 16: nothing lost
        "tui.key.quit_asking": ("Quitter", "Quit"),
        # issue 16: big steps
        "tui.key.filter": ("Filtrer", "Filter"),
        "tui.key.sort": ("Trier (←/→ : la colonne)", "Sort (←/→: the column)"),
        "tui.key.accept_all": ("Accepter tous les ★ proposés", "Accept every ★ suggested"),
        "tui.key.reject_fuzzy": ("Refuser tous les « proche »", "Reject every 'close'"),
        "tui.key.up": ("Ligne précédente", "Previous row"),
        "tui.key.down": ("Ligne suivante", "Next row"),
        "tui.key.page_up": ("Page précédente", "Previous page"),
        "tui.key.page_down": ("Page suivante", "Next page"),
        "tui.step.close": ("Fermer", "Close"),
    }
)


# The actions that change a decision of the step.
DECISIONS = frozenset(
    {"search", "clear", "reject", "keep", "accept_all", "reject_fuzzy", "validate", "interrupt"}
)


class Tables(Vertical):
    """The step's tables: their heights follow the room the screen gives them."""

    def on_resize(self) -> None:
        screen = self.screen
        if isinstance(screen, StepScreen):
            screen.call_after_refresh(screen._share_height)


class StepScreen(BulkDecisions, Validating, LocalisedScreen[None]):
    """One category: the two tables, the detail line, and the step's keys (A and R in
    `step_bulk`, V and I in `step_validate`)."""

    AUTO_FOCUS = "#unrecognised"
    BINDINGS = [
        Binding("p", "search", t("tui.key.search"), id="step.search", key_display="⏎/p"),
        Binding("x,delete", "clear", t("tui.key.clear"), id="step.clear"),
        Binding("r", "reject", t("tui.key.reject"), id="step.reject", show=False),
        Binding("n", "next_unrecognised", t("tui.key.next"), id="step.next", show=False),
        Binding(
            "N", "previous_unrecognised", t("tui.key.previous"), id="step.previous", show=False
        ),
        Binding("tab", "switch_table", t("tui.key.switch"), id="step.switch", show=False),
        Binding("k", "keep", t("tui.key.keep"), id="step.keep", show=False),
        Binding("v", "validate", t("tui.key.validate"), id="step.validate"),
        Binding("i", "interrupt", t("tui.key.interrupt"), id="step.interrupt"),
        Binding("f4", "imported", t("tui.key.imported"), id="step.imported", show=False),
        # issue 16: big steps. Priority: run on arrival, so the letters typed right after
        # it (same SSH packet) already go to the filter; it stands aside in a filter.
        Binding(
            "slash",
            "filter",
            t("tui.key.filter"),
            id="step.filter",
            priority=True,
            show=False,
            key_display="/",
        ),
        Binding("s", "sort", t("tui.key.sort"), id="step.sort", show=False),
        Binding("A", "accept_all", t("tui.key.accept_all"), id="step.accept_all", show=False),
        Binding("R", "reject_fuzzy", t("tui.key.reject_fuzzy"), id="step.reject_fuzzy", show=False),
        # From a filter field, Up/Down still walk its table.
        Binding("up", "move('up')", t("tui.key.up"), show=False, id="step.up"),
        Binding("down", "move('down')", t("tui.key.down"), show=False, id="step.down"),
        Binding("pageup", "move('page_up')", t("tui.key.page_up"), show=False, id="step.page_up"),
        Binding(
            "pagedown", "move('page_down')", t("tui.key.page_down"), show=False, id="step.page_down"
        ),
        # issue 16: with choices pending, Ctrl+C asks as Ctrl+Q does.
        Binding("ctrl+c", "app.quit_asking", t("tui.key.quit_asking"), show=False, id="step.quit"),
    ]

    def __init__(self, session: ImportSession) -> None:
        super().__init__()
        self.session = session
        self.state = session.current
        self.category = session.category
        self._bulk = False
        self._active: RowTable | None = None
        self.writing = False  # Validate's worker is writing (Ctrl+Q must not end the session)
        self._progress: tuple[ProgressBar, Static] | None = None

    # -- layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        total = len(self.session.steps)
        yield Static(
            t(
                "tui.step.title",
                step=self.session.index + 1,
                total=total,
                category=self.category.label(language()),
            ),
            classes="title",
        )
        with Tables(id="tables"):
            yield Static("", id="recognised-heading", classes="heading")
            yield FilterField("recognised")
            yield RowTable(recognised_columns(), id="recognised", zebra_stripes=True)
            yield Static("", id="unrecognised-heading", classes="heading")
            yield FilterField("unrecognised")
            yield RowTable(unrecognised_columns(), id="unrecognised", zebra_stripes=True)
            if self.session.mode == "complet" and self.state.match.obsolete:
                yield Static("", id="obsolete-heading", classes="heading")
                yield FilterField("obsolete")
                yield RowTable(obsolete_columns(), id="obsolete")
            if self.session.mode == "complet" and self.state.match.kept_absent:
                # The file holds none of this category: what is stored stays (core/matching.py).
                yield Static(
                    t(
                        "match.kept_absent",
                        category=self.category.label(language()),
                        count=len(self.state.match.kept_absent),
                    ),
                    id="kept-absent",
                    classes="heading",
                )
        yield Static("", id="detail")
        yield LoadingIndicator(id="busy")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#busy").display = False
        for field in self.query(FilterField):
            field.display = False
        for table in self.query(RowTable):
            table.on_shown = self._shown_changed
        self._fill()
        self._headings()
        if not self.state.match.unrecognised:
            self.query_one("#recognised", DataTable).focus()

    def _shown_changed(self) -> None:
        self._headings()
        self._share_height()

    def _fill(self) -> None:
        """Rows keyed by identifier, so one link updates one row."""
        state = self.state
        self._table_of("recognised").load([decision_row(state, d) for d in state.match.recognised])
        self._table_of("unrecognised").load(
            [decision_row(state, d) for d in state.match.unrecognised]
        )
        if self.query("#obsolete"):
            self._table_of("obsolete").load([obsolete_row(state, o) for o in state.match.obsolete])

    def _table_of(self, name: str) -> RowTable:
        return self.query_one(f"#{name}", RowTable)

    def _update(self, selector: str, text: str) -> None:
        """A Static's text, repainted only if it changed (a keystroke in a filter updates
        every heading; each new layout of the screen costs tens of milliseconds). A
        heading is one line whatever it says: no new layout for it."""
        widget = self.query_one(selector, Static)
        if getattr(widget, "_shown_text", None) != text:
            widget._shown_text = text  # type: ignore[attr-defined]
            # Plain text, never markup: a login or a reason may hold brackets.
            widget.update(Text(text), layout=not widget.has_class("heading"))

    def _headings(self) -> None:
        shown = {table.id: len(table.shown) for table in self.query(RowTable) if table.id}
        for table, text in headings(self.state, shown).items():
            self._update(f"#{table}-heading", text)

    def _refresh_row(self, idpn: str, *, detail: bool = True) -> None:
        d = self.state.decision(idpn)
        table = self._table_of("recognised" if d.recognised else "unrecognised")
        table.replace(decision_row(self.state, d))
        if detail:
            self._headings()
            self._show_detail()

    # -- what is highlighted ---------------------------------------------------------------------

    def _table(self) -> RowTable | None:
        focused = self.focused
        if isinstance(focused, FilterField):
            return self._table_of(focused.table_id)
        return focused if isinstance(focused, RowTable) else None

    def _highlighted(self) -> Decision | None:
        table = self._table()
        if table is None or table.id == "obsolete":
            return None
        key = table.highlighted_key()
        return self.state.decision(key) if key else None

    def _show_detail(self) -> None:
        table = self._table()
        if table is not None and table.id == "obsolete" and table.row_count:
            self._update("#detail", obsolete_detail(self.state, table.highlighted_key() or ""))
            return
        d = self._highlighted()
        self._update("#detail", "" if d is None else decision_detail(self.state, d))

    @on(DataTable.RowHighlighted)
    def _highlight(self, _event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def on_descendant_focus(self, _event: Any) -> None:
        self._grow(self._table())
        self._show_detail()
        self.refresh_bindings()

    def _grow(self, active: RowTable | None) -> None:
        """The table being worked on takes most of the height (see `_share_height`)."""
        if active is not None and active is not self._active:
            self._active = active
            self._share_height()

    def _share_height(self) -> None:
        """Each table its rows at most; three lines each first, then the one being worked
        on what it needs (at 80x24 a big step shows 8 rows of it, 2 of each other table),
        then the others what is left."""
        # Also called after a refresh: the screen may be gone by then (the next step's).
        found = self.query("#tables") if self.is_attached else None
        if not found:
            return
        box = found.first()
        tables = list(self.query(RowTable))
        if not box.size.height or not tables:
            return
        others = sum(w.outer_size.height for w in box.children if w.display and w not in tables)
        active = tables.index(self._active) if self._active in tables else None
        heights = share_heights(box.size.height - others, [t.need for t in tables], active)
        for table, height in zip(tables, heights, strict=True):
            if table.styles.height is None or table.styles.height.value != height:
                table.styles.height = height

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "obsolete":
            self.action_keep()
        else:
            self.action_search()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # In a filter field, / and the letters are text: do not promise otherwise.
        if action in ("filter", "sort") and isinstance(self.focused, Input):
            return False
        # While links are made in bulk, no other decision meets them halfway.
        if self._bulk and action in DECISIONS:
            return False
        return True

    # -- filter and sort (issue 16: big steps) -----------------------------------------------------

    def action_filter(self) -> None:
        table = self._table() or self._table_of("unrecognised")
        field = self.query_one(f"#{table.id}-filter", FilterField)
        field.display = True
        self.call_after_refresh(self._share_height)
        # Focus now, not after the keys already typed: they belong to the filter.
        self.set_focus(field)

    @on(Input.Changed)
    def _filter_typed(self, event: Input.Changed) -> None:
        field = event.input
        if not isinstance(field, FilterField) or escape_pasted(event):
            return
        self._table_of(field.table_id).filter(event.value)
        self._show_detail()

    def action_filter_done(self) -> None:
        field = self.focused
        if isinstance(field, FilterField):
            table = self._table_of(field.table_id)
            if not field.value.strip():
                field.display = False
                self.call_after_refresh(self._share_height)
            table.focus()

    def action_filter_clear(self) -> None:
        field = self.focused
        if isinstance(field, FilterField):
            field.value = ""
            table = self._table_of(field.table_id)
            table.filter("")
            field.display = False
            self.call_after_refresh(self._share_height)
            table.focus()

    def action_sort(self) -> None:
        table = self._table()
        if table is not None:
            table.sort_by_column()

    def action_move(self, how: str) -> None:
        table = self._table()
        if table is not None:
            getattr(table, f"action_{'cursor_' if how in ('up', 'down') else ''}{how}")()

    # -- the admin's decisions --------------------------------------------------------------------

    def action_search(self) -> None:
        if self._bulk:  # links being made in bulk: not one more meanwhile
            return
        d = self._highlighted()
        if d is None:
            return
        from tui.screens.search import SearchDialog

        def linked(account: Any) -> None:
            if account is None:
                return
            try:
                self.session.link(d.pronote.idpn, account.login)
            except IdpronoteError as error:  # a rule broken, or the journal unwritable
                self.notify(str(error), severity="error", timeout=8)
                return
            self._refresh_row(d.pronote.idpn)

        children = None
        if self.category is Category.RESPONSABLES:
            children = self.session.children_in_file(d.pronote)
        self.app.push_screen(
            SearchDialog(
                self.session.directory,
                uai=self.session.uai,
                category=self.category,
                query=d.pronote.display_name,
                candidates=d.candidates,
                title=d.pronote.display_name,
                record=d.pronote,
                children=children,
                check=self.session.link_check(d.pronote.idpn),
            ),
            linked,
        )

    def action_clear(self) -> None:
        if self._bulk:  # links being made in bulk: not one more meanwhile
            return
        d = self._highlighted()
        if d is not None:
            self.session.clear(d.pronote.idpn)
            self._refresh_row(d.pronote.idpn)

    def action_reject(self) -> None:
        if self._bulk:  # links being made in bulk: not one more meanwhile
            return
        d = self._highlighted()
        if d is None or not d.recognised:
            return
        if d.pronote.idpn in self.state.rejected:
            self.session.restore(d.pronote.idpn)
        else:
            self.session.clear(d.pronote.idpn)
        self._refresh_row(d.pronote.idpn)

    def action_keep(self) -> None:
        if self._bulk or not self.query("#obsolete"):
            return
        table = self._table_of("obsolete")
        key = table.highlighted_key()
        if key is None:
            return
        login, _, idpn = key.partition("\x00")
        self.session.keep_obsolete(login, idpn, (login, idpn) not in self.state.kept)
        o = next(o for o in self.state.match.obsolete if (o.account.login, o.idpn) == (login, idpn))
        table.replace(obsolete_row(self.state, o))
        self._headings()
        self._show_detail()

    def _move_unrecognised(self, step: int) -> None:
        table = self._table_of("unrecognised")
        table.focus()
        shown = table.shown
        if not shown:
            return
        start = table.cursor_row if table.row_count else 0
        for offset in range(1, len(shown) + 1):
            row = (start + step * offset) % len(shown)
            if not self.state.link_of(shown[row]):
                table.go_to(shown[row])
                return

    def action_next_unrecognised(self) -> None:
        self._move_unrecognised(1)

    def action_previous_unrecognised(self) -> None:
        self._move_unrecognised(-1)

    def action_switch_table(self) -> None:
        tables = list(self.query(RowTable))
        current = self._table()
        index = tables.index(current) if current in tables else -1
        tables[(index + 1) % len(tables)].focus()

    def action_imported(self) -> None:
        from tui.screens.imported import ImportedScreen

        self.app.push_screen(
            ImportedScreen(
                self.session.directory, uai=self.session.uai, data_dir=self.session.data_dir
            )
        )

    def _next(self) -> None:
        if self.session.finished:
            from tui.screens.end import EndScreen

            self.app.switch_screen(EndScreen(self.session))
        else:
            self.app.switch_screen(StepScreen(self.session))
