"""One step of the wizard: recognised and unrecognised accounts, links, validate, interrupt."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
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
from core.i18n import language, number, register, t
from core.matching import Decision
from core.model import Category, ChangeKind
from core.text import has_unsafe_characters, printable
from core.wizard import ImportSession
from tui.localise import LocalisedScreen
from tui.widgets.cells import cell
from tui.widgets.tables import ColumnSpec, Row, RowTable, fold, share_heights

register(
    {
        "tui.step.title": (
            "Étape {step}/{total} : rapprochement des {category}",
            "Step {step}/{total}: matching {category}",
        ),
        "tui.step.recognised": ("Reconnus ({count})", "Recognised ({count})"),
        "tui.step.unrecognised": (
            "Non reconnus ({count}, dont {linked} reliés à la main)",
            "Unrecognised ({count}, {linked} linked by hand)",
        ),
        "tui.step.obsolete": (
            "Identifiants obsolètes ({count}, {removed} à retirer)",
            "Obsolete identifiers ({count}, {removed} to remove)",
        ),
        "tui.col.name": ("Nom Prénom", "Name"),
        "tui.col.born": ("Naissance", "Born"),
        "tui.col.idpn": ("Identifiant", "Identifier"),
        "tui.col.account": ("Compte", "Account"),
        "tui.col.rule": ("Règle", "Rule"),
        "tui.col.link": ("Lien", "Link"),
        "tui.col.reason": ("Raison", "Reason"),
        "tui.col.action": ("Action", "Action"),
        "tui.step.rejected": ("refusé", "rejected"),
        "tui.step.remove": ("retirer", "remove"),
        "tui.step.keep": ("garder", "keep"),
        "tui.step.manual": ("lien manuel vers {login}", "linked by hand to {login}"),
        "tui.step.rejected_detail": (
            "lien automatique refusé : ne sera pas écrit (r pour le rétablir)",
            "automatic link rejected: will not be written (r to restore it)",
        ),
        "tui.step.candidates": ("à examiner : {logins}", "look at: {logins}"),
        "tui.step.obsolete_detail": (
            "{login} porte {idpn}, absent du fichier : {action} (k pour changer)",
            "{login} holds {idpn}, no longer in the file: {action} (k to change)",
        ),
        "tui.step.confirm_title": (
            "Valider l'étape {step}/{total} ({category}) ?",
            "Validate step {step}/{total} ({category})?",
        ),
        "tui.step.confirm_counts": (
            "{add} ajout(s), {replace} remplacement(s), {remove} retrait(s) dans l'annuaire.",
            "{add} addition(s), {replace} replacement(s), {remove} removal(s) in the directory.",
        ),
        "tui.step.confirm_nothing": (
            "Rien à écrire pour cette étape.",
            "Nothing to write for this step.",
        ),
        "tui.step.skipped": ("non écrit : {reason}", "not written: {reason}"),
        "tui.step.yes_validate": ("Valider et passer à l'étape suivante", "Validate and go on"),
        "tui.step.no": ("Revenir", "Go back"),
        "tui.step.interrupt_title": ("Interrompre l'import ?", "Interrupt the import?"),
        "tui.step.interrupt_kept": (
            "Les étapes déjà validées ({steps}) restent écrites.",
            "The steps already validated ({steps}) stay written.",
        ),
        "tui.step.interrupt_none": (
            "Aucune étape n'a encore été validée : rien n'a été écrit.",
            "No step has been validated yet: nothing was written.",
        ),
        "tui.step.interrupt_rest": (
            "Les étapes {steps} ne seront pas traitées ; la session pourra être reprise.",
            "Steps {steps} will not be processed; the session can be resumed.",
        ),
        "tui.step.yes_interrupt": ("Interrompre", "Interrupt"),
        "tui.step.writing": ("Écriture dans l'annuaire…", "Writing to the directory…"),
        "tui.step.failed": (
            "{count} écriture(s) refusée(s) : {first}",
            "{count} write(s) refused: {first}",
        ),
        "tui.step.write_error": (
            "L'annuaire a échoué pendant l'écriture : {error}. Rien n'est perdu : "
            "relancez idpronote et reprenez la session.",
            "The directory failed while writing: {error}. Nothing is lost: start "
            "idpronote again and resume the session.",
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
        "tui.step.progress": ("{done} / {total}", "{done} / {total}"),
        "tui.step.result": (
            "Étape {step} : {written}, {refused}, {left}.",
            "Step {step}: {written}, {refused}, {left}.",
        ),
        "tui.step.n_written": ("{n} écrit|{n} écrits", "{n} written|{n} written"),
        "tui.step.n_refused": ("{n} refusé|{n} refusés", "{n} refused|{n} refused"),
        "tui.step.n_left": ("{n} non relié|{n} non reliés", "{n} unlinked|{n} unlinked"),
        "tui.step.confirm_manual": (
            "Dont {count} choix manuel(s), en tête de liste : ✎ lien à la main, "
            "✗ lien automatique refusé, = identifiant obsolète gardé.",
            "Of which {count} manual choice(s), listed first: ✎ linked by hand, "
            "✗ automatic link rejected, = obsolete identifier kept.",
        ),
        "tui.step.confirm_left": (
            "{count} compte(s) de l'étape resteront non relié(s).",
            "{count} account(s) of the step will stay unlinked.",
        ),
        "tui.step.confirm_rejected": (
            "✗ {idpn}  {who} : lien automatique refusé, non écrit",
            "✗ {idpn}  {who}: automatic link rejected, not written",
        ),
        "tui.step.confirm_kept": ("= {idpn}  {who} : gardé", "= {idpn}  {who}: kept"),
        "tui.step.interrupt_draft": (
            "Vos {count} choix manuel(s) de cette étape (liens, refus) sont gardés au "
            "journal : F5 au prochain lancement les reprend.",
            "Your {count} manual choice(s) in this step (links, rejections) are kept in "
            "the journal: F5 at the next start brings them back.",
        ),
        "tui.step.interrupt_no_draft": (
            "Aucun choix manuel en cours dans cette étape.",
            "No manual choice pending in this step.",
        ),
        # issue 16: big steps
        "tui.step.recognised_filtered": (
            "Reconnus ({shown} / {count})",
            "Recognised ({shown} / {count})",
        ),
        "tui.step.unrecognised_filtered": (
            "Non reconnus ({shown} / {count}, dont {linked} reliés à la main)",
            "Unrecognised ({shown} / {count}, {linked} linked by hand)",
        ),
        "tui.step.obsolete_filtered": (
            "Identifiants obsolètes ({shown} / {count}, {removed} à retirer)",
            "Obsolete identifiers ({shown} / {count}, {removed} to remove)",
        ),
        "tui.step.filter_placeholder": (
            "filtrer : nom, login, identifiant, raison (Entrée : le tableau, Échap : effacer)",
            "filter: name, login, identifier, reason (Enter: the table, Esc: clear)",
        ),
        "tui.key.filter": ("Filtrer", "Filter"),
        "tui.key.sort": ("Trier (←/→ : la colonne)", "Sort (←/→: the column)"),
        "tui.key.accept_all": ("Accepter tous les ★ proposés", "Accept every ★ suggested"),
        "tui.key.reject_fuzzy": ("Refuser tous les « proche »", "Reject every 'close'"),
        "tui.key.up": ("Ligne précédente", "Previous row"),
        "tui.key.down": ("Ligne suivante", "Next row"),
        "tui.key.page_up": ("Page précédente", "Previous page"),
        "tui.key.page_down": ("Page suivante", "Next page"),
        "tui.step.accept_title": (
            "Relier {count} compte(s) à leur seul candidat ★ ?",
            "Link {count} account(s) to their one ★ candidate?",
        ),
        "tui.step.accept_intro": (
            "Chaque compte non reconnu dont la recherche propose un seul compte (★), "
            "comme un lien à la main (x pour en défaire un) :",
            "Each unrecognised account whose search suggests one account (★), as a link "
            "made by hand (x undoes one):",
        ),
        "tui.step.accept_none": (
            "Aucun compte non reconnu de cette étape n'a un seul candidat ★ libre.",
            "No unrecognised account of this step has a single free ★ candidate.",
        ),
        "tui.step.accept_yes": ("Relier", "Link"),
        "tui.step.accepted": (
            "{linked} compte(s) relié(s) à la main, {refused} refusé(s)",
            "{linked} account(s) linked by hand, {refused} refused",
        ),
        "tui.step.accept_refused": ("Refusé : {error}", "Refused: {error}"),
        "tui.step.reject_title": (
            "Refuser {count} lien(s) automatique(s) « proche » ?",
            "Reject {count} 'close' automatic link(s)?",
        ),
        "tui.step.reject_intro": (
            "Ces comptes ne seront pas écrits (r pour en rétablir un) :",
            "These accounts will not be written (r restores one):",
        ),
        "tui.step.reject_none": (
            "Aucun lien « proche » (règle fuzzy) en vigueur dans cette étape.",
            "No 'close' link (rule fuzzy) in effect in this step.",
        ),
        "tui.step.reject_yes": ("Refuser", "Reject"),
        "tui.step.rejected_many": (
            "{count} lien(s) « proche » refusé(s)",
            "{count} 'close' link(s) rejected",
        ),
        "tui.step.nothing_to_do": ("Rien à faire", "Nothing to do"),
        "tui.step.close": ("Fermer", "Close"),
    }
)


class WriteProgress(Message):
    """From the Validate worker: changes written so far (a flood collapses to the last)."""

    def __init__(self, done: int, total: int) -> None:
        super().__init__()
        self.done = done
        self.total = total

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, WriteProgress)


def _counted(key: str, n: int) -> str:
    """`2 838 écrits`: the count as the language writes it, singular or plural."""
    one, many = t(key, n=number(n)).split("|")
    singular = n == 1 if language() == "en" else n < 2
    return one if singular else many


REASON_SHORT = {
    "conflict": ("conflit", "conflict"),
    "duplicate_in_file": ("doublon", "duplicate"),
    "account_taken": ("pris", "taken"),
    "ambiguous": ("ambigu", "ambiguous"),
    "date_differs": ("date", "date"),
    "lost_letters": ("illisible", "lost"),
    "uncertain": ("incertain", "uncertain"),
    "no_candidate": ("aucun", "none"),
}

RULE_SHORT = {
    "already_linked": ("déjà lié", "linked"),
    "cas_login": ("CAS", "CAS"),
    "remembered": ("mémorisé", "memory"),
    "exact": ("exact", "exact"),
    "exact_name": ("noms", "names"),
    "guardian_children": ("enfants", "children"),
    "fuzzy": ("proche", "close"),
}


# The actions that change a decision of the step.
DECISIONS = frozenset(
    {"search", "clear", "reject", "keep", "accept_all", "reject_fuzzy", "validate", "interrupt"}
)


def _born(decision: Decision) -> str:
    born = decision.pronote.birth_date
    return born.strftime("%d/%m/%Y") if born else "—"


def _name(decision: Decision) -> Text:
    return cell(decision.pronote.display_name)


def _reason_words(d: Decision) -> str:
    """What the filter finds a row by beyond its cells: the rule's code and its reason."""
    return f"{d.rule} {d.explain()}"


class FilterField(Input):
    """A table's filter. Enter goes back to the table (filter kept), Escape clears it."""

    DEFAULT_CSS = """
    FilterField {
        height: 1;
        border: none;
        padding: 0 1;
        margin: 0 1;
    }
    """
    BINDINGS = [
        Binding("enter", "screen.filter_done", show=False, id="step.filter_done"),
        Binding("escape", "screen.filter_clear", show=False, id="step.filter_clear"),
    ]

    def __init__(self, table: str) -> None:
        super().__init__(
            placeholder=t("tui.step.filter_placeholder"), id=f"{table}-filter", compact=True
        )
        self.table_id = table


def recognised_columns() -> list[ColumnSpec]:
    return [
        ColumnSpec("name", t("tui.col.name"), 18, grow=4, most=40),
        ColumnSpec("born", t("tui.col.born"), 10),
        ColumnSpec("idpn", t("tui.col.idpn"), 16),
        ColumnSpec("account", t("tui.col.account"), 16, grow=3, most=32),
        ColumnSpec("rule", t("tui.col.rule"), 8, grow=1, most=10),
    ]


def unrecognised_columns() -> list[ColumnSpec]:
    return [
        ColumnSpec("name", t("tui.col.name"), 18, grow=4, most=40),
        ColumnSpec("born", t("tui.col.born"), 10),
        ColumnSpec("idpn", t("tui.col.idpn"), 16),
        ColumnSpec("account", t("tui.col.link"), 15, grow=3, most=32),
        ColumnSpec("rule", t("tui.col.reason"), 9, grow=1, most=12),
    ]


def obsolete_columns() -> list[ColumnSpec]:
    return [
        ColumnSpec("account", t("tui.col.account"), 18, grow=3, most=32),
        ColumnSpec("name", t("tui.col.name"), 26, grow=4, most=40),
        ColumnSpec("idpn", t("tui.col.idpn"), 16),
        ColumnSpec("action", t("tui.col.action"), 8),
    ]


class Tables(Vertical):
    """The step's tables: their heights follow the room the screen gives them."""

    def on_resize(self) -> None:
        screen = self.screen
        if isinstance(screen, StepScreen):
            screen.call_after_refresh(screen._share_height)


class StepScreen(LocalisedScreen[None]):
    """One category: the two tables, the detail line, and the step's keys."""

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
        self._table_of("recognised").load([self._row(d) for d in self.state.match.recognised])
        self._table_of("unrecognised").load([self._row(d) for d in self.state.match.unrecognised])
        if self.query("#obsolete"):
            self._table_of("obsolete").load(
                [self._obsolete_row(o) for o in self.state.match.obsolete]
            )

    def _table_of(self, name: str) -> RowTable:
        return self.query_one(f"#{name}", RowTable)

    def _row(self, d: Decision) -> Row:
        cells = self._cells(d)
        name, _born_text, idpn, account, rule = (str(c) for c in cells)
        p = d.pronote
        folded = fold(f" {name} {idpn} {account} {rule} {_reason_words(d)}")
        by_date = p.birth_date.toordinal() if p.birth_date else 0
        sort = (fold(name), by_date, idpn, fold(account), fold(rule))
        return Row(idpn, tuple(c if isinstance(c, Text) else Text(c) for c in cells), folded, sort)

    def _obsolete_row(self, o: Any) -> Row:
        login, name = o.account.login, o.account.display_name
        action = self._obsolete_action(login, o.idpn)
        cells = (cell(login), cell(name), Text(o.idpn), Text(action))
        folded = fold(f" {printable(login)} {printable(name)} {o.idpn} {action}")
        sort = (fold(login), fold(name), o.idpn, action)
        return Row(f"{login}\x00{o.idpn}", cells, folded, sort)

    def _cells(self, d: Decision) -> tuple[str | Text, ...]:
        idpn = d.pronote.idpn
        state = self.state
        login = state.link_of(idpn)
        if d.recognised:
            account = login if login else t("tui.step.rejected")
            short = RULE_SHORT.get(d.rule, (d.rule, d.rule))
            rule = short[1] if language() == "en" else short[0]
            if state.source(idpn) == "manual":
                rule = "✎"
        else:
            account = login or "—"
            short = REASON_SHORT.get(d.rule, (d.rule, d.rule))
            rule = short[1] if language() == "en" else short[0]
        return (_name(d), _born(d), idpn, cell(account), rule)

    def _obsolete_action(self, login: str, idpn: str) -> str:
        kept = (login, idpn) in self.state.kept
        return t("tui.step.keep") if kept else t("tui.step.remove")

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
        state = self.state
        linked = sum(1 for d in state.match.unrecognised if state.link_of(d.pronote.idpn))

        def counts(name: str, count: int) -> dict[str, Any]:
            shown = len(self._table_of(name).shown)
            return {"count": number(count), "shown": number(shown), "filtered": shown != count}

        recognised = counts("recognised", len(state.match.recognised))
        key = "tui.step.recognised_filtered" if recognised["filtered"] else "tui.step.recognised"
        self._update("#recognised-heading", t(key, **recognised))
        unrecognised = counts("unrecognised", len(state.match.unrecognised))
        key = "tui.step.unrecognised"
        if unrecognised["filtered"]:
            key = "tui.step.unrecognised_filtered"
        self._update("#unrecognised-heading", t(key, linked=number(linked), **unrecognised))
        if self.query("#obsolete-heading"):
            removed = sum(
                1 for o in state.match.obsolete if (o.account.login, o.idpn) not in state.kept
            )
            obsolete = counts("obsolete", len(state.match.obsolete))
            key = "tui.step.obsolete_filtered" if obsolete["filtered"] else "tui.step.obsolete"
            self._update("#obsolete-heading", t(key, removed=number(removed), **obsolete))

    def _refresh_row(self, idpn: str, *, detail: bool = True) -> None:
        d = self.state.decision(idpn)
        self._table_of("recognised" if d.recognised else "unrecognised").replace(self._row(d))
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
            key = table.highlighted_key() or ""
            login, _, idpn = key.partition("\x00")
            self._update(
                "#detail",
                t(
                    "tui.step.obsolete_detail",
                    login=printable(login),
                    idpn=idpn,
                    action=self._obsolete_action(login, idpn),
                ),
            )
            return
        d = self._highlighted()
        if d is None:
            self._update("#detail", "")
            return
        idpn = d.pronote.idpn
        source = self.state.source(idpn)
        if source == "manual":
            text = t("tui.step.manual", login=printable(self.state.link_of(idpn)))
        elif d.recognised and idpn in self.state.rejected:
            text = t("tui.step.rejected_detail")
        else:
            text = d.explain()
            if d.candidates and not d.recognised:
                text += " — " + t("tui.step.candidates", logins=", ".join(d.candidates[:4]))
        self._update("#detail", printable(text))

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
        if not isinstance(field, FilterField):
            return
        if has_unsafe_characters(event.value):
            # Pasted control characters: show them escaped, as every name is.
            field.value = printable(event.value)
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
        table.replace(self._obsolete_row(o))
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

    # -- decisions in bulk (issue 16: big steps) ---------------------------------------------------

    def action_accept_all(self) -> None:
        from tui.screens.confirm import ConfirmDialog

        proposals = self.session.proposals()
        if not proposals:
            self.notify(t("tui.step.accept_none"), title=t("tui.step.nothing_to_do"))
            return
        lines = [t("tui.step.accept_intro"), ""]
        for idpn, login in proposals:
            d = self.state.decision(idpn)
            short = REASON_SHORT.get(d.rule, (d.rule, d.rule))
            reason = short[1] if language() == "en" else short[0]
            account = self.session.reconciliation.by_login(login)
            theirs = account.birth_date if account is not None else None
            # Birth dates side by side when Pronote has one (guardians have none).
            born = ""
            if d.pronote.birth_date is not None:
                born = f" {_born(d)} / {theirs.strftime('%d/%m/%Y') if theirs else '—'}"
            lines.append(printable(f"{d.pronote.display_name} → {login} ({reason}){born}"))

        def answered(yes: bool | None) -> None:
            if yes and not self._bulk:
                self._bulk = True
                self._accept(proposals)

        self.app.push_screen(
            ConfirmDialog(
                t("tui.step.accept_title", count=number(len(proposals))),
                lines,
                yes=t("tui.step.accept_yes"),
                no=t("tui.step.no"),
            ),
            answered,
        )

    # A thread: each link reads the directory (an LDAP round trip or two).
    @work(thread=True, exclusive=True, group="bulk", exit_on_error=False)
    def _accept(self, proposals: list[tuple[str, str]]) -> None:
        try:
            refused = self.session.decide_many(links=proposals)
        finally:
            self.app.call_from_thread(self._decided, [idpn for idpn, _ in proposals])
        self.app.call_from_thread(self._accepted, len(proposals), refused)

    def _decided(self, idpns: list[str]) -> None:
        self._bulk = False
        with self.app.batch_update():
            for idpn in idpns:
                self._refresh_row(idpn, detail=False)
        self._headings()
        self._show_detail()

    def _accepted(self, count: int, refused: list[tuple[str, str]]) -> None:
        self.notify(
            t("tui.step.accepted", linked=number(count - len(refused)), refused=len(refused)),
            severity="warning" if refused else "information",
        )
        if refused:
            first = self.state.decision(refused[0][0]).pronote.display_name
            self.notify(
                t("tui.step.accept_refused", error=printable(f"{first} : {refused[0][1]}")),
                severity="error",
                timeout=15,
            )

    def on_worker_state_changed(self, event: Any) -> None:
        from textual.worker import WorkerState

        if event.worker.group == "bulk" and event.state is WorkerState.ERROR:
            self.notify(printable(str(event.worker.error)), severity="error", timeout=15)

    def action_reject_fuzzy(self) -> None:
        from tui.screens.confirm import ConfirmDialog

        fuzzy = self.session.fuzzy_links()
        if not fuzzy:
            self.notify(t("tui.step.reject_none"), title=t("tui.step.nothing_to_do"))
            return
        lines = [t("tui.step.reject_intro"), ""]
        for idpn in fuzzy:
            d = self.state.decision(idpn)
            account = self.session.reconciliation.by_login(d.login or "")
            theirs = f" ({account.display_name})" if account is not None else ""
            lines.append(printable(f"{d.pronote.display_name} → {d.login}{theirs}"))

        def answered(yes: bool | None) -> None:
            if yes and not self._bulk:
                self.session.decide_many(rejects=fuzzy)
                self._decided(fuzzy)
                self.notify(t("tui.step.rejected_many", count=number(len(fuzzy))))

        self.app.push_screen(
            ConfirmDialog(
                t("tui.step.reject_title", count=number(len(fuzzy))),
                lines,
                yes=t("tui.step.reject_yes"),
                no=t("tui.step.no"),
            ),
            answered,
        )

    # -- validate and interrupt --------------------------------------------------------------------

    def _plan_lines(self) -> list[str]:
        plan = self.session.plan()
        names = {
            login: _name(d)
            for d in self.state.match.decisions
            if (login := self.state.link_of(d.pronote.idpn))
        }
        for o in self.state.match.obsolete:
            names.setdefault(o.account.login, printable(o.account.display_name))
        lines = [
            t(
                "tui.step.confirm_counts",
                add=len(plan.of_kind(ChangeKind.ADD)),
                replace=len(plan.of_kind(ChangeKind.REPLACE)),
                remove=len(plan.of_kind(ChangeKind.REMOVE)),
            )
            if plan.changes
            else t("tui.step.confirm_nothing")
        ]
        state = self.state
        if state.pending:
            lines.append(t("tui.step.confirm_manual", count=number(state.pending)))
        left = sum(1 for d in state.match.decisions if not state.link_of(d.pronote.idpn))
        lines.append(t("tui.step.confirm_left", count=number(left)))
        manual_lines: list[str] = []
        other_lines: list[str] = []
        for change in plan.changes:
            who = printable(f"{change.login} {names.get(change.login, '')}".strip())
            # ✎: the admin's own link, not the matching's; listed first.
            by_hand = change.idpn is not None and change.idpn in state.manual
            mark = "✎" if by_hand else " "
            if change.kind is ChangeKind.ADD:
                line = f"+{mark}{change.idpn}  {who}"
            elif change.kind is ChangeKind.REPLACE:
                line = f"~{mark}{change.previous} → {change.idpn}  {who}"
            else:
                line = f"-  {change.previous}  {who}"
            (manual_lines if by_hand else other_lines).append(line)
        lines += manual_lines
        for idpn in sorted(state.rejected):
            d = state.decision(idpn)
            lines.append(t("tui.step.confirm_rejected", idpn=idpn, who=_name(d).plain))
        for login, idpn in sorted(state.kept):
            lines.append(t("tui.step.confirm_kept", idpn=idpn, who=printable(login)))
        lines += other_lines
        for idpn, reason in plan.skipped:
            lines.append(f"! {idpn} " + t("tui.step.skipped", reason=printable(reason)))
        return lines

    def action_validate(self) -> None:
        from tui.screens.confirm import ConfirmDialog

        total = len(self.session.steps)
        title = t(
            "tui.step.confirm_title",
            step=self.session.index + 1,
            total=total,
            category=self.category.label(language()),
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self.validate()

        self.app.push_screen(
            ConfirmDialog(
                title, self._plan_lines(), yes=t("tui.step.yes_validate"), no=t("tui.step.no")
            ),
            answered,
        )

    @work(thread=True, exclusive=True, group="session", exit_on_error=False)
    def validate(self) -> None:
        self.app.call_from_thread(self._busy, True)
        try:
            # post_message is thread-safe; the UI thread draws the bar.
            outcomes = self.session.validate(
                progress=lambda done, total: self.post_message(WriteProgress(done, total))
            )
            if not self.session.finished:
                self.session.current  # noqa: B018 - match the next step here, in the thread
        except IdpronoteError as error:
            self.app.call_from_thread(self._write_failed, str(error))
            return
        finally:
            self.app.call_from_thread(self._busy, False)
        self.app.call_from_thread(self._validated, outcomes)

    def _busy(self, on: bool) -> None:
        self.writing = on
        self.query_one("#busy").display = on
        self.query_one("#tables").display = not on
        if on and self._progress is None:
            bar = ProgressBar(id="progress", show_eta=False, show_percentage=False)
            label = Static(t("tui.step.writing"))
            counts = Static("", id="progress-counts")
            for widget in (label, bar, counts):
                widget.styles.width = "auto"
                widget.styles.margin = (0, 1)
            row = Horizontal(label, bar, counts, id="writing")
            row.styles.height = "auto"
            self._progress = (bar, counts)
            self.mount(row, after=self.query_one("#busy"))
        elif not on and self._progress is not None:
            self._progress = None
            self.query("#writing").remove()

    def on_write_progress(self, message: WriteProgress) -> None:
        if self._progress is None:
            return
        bar, counts = self._progress
        bar.update(total=message.total, progress=message.done)
        counts.update(
            t("tui.step.progress", done=number(message.done), total=number(message.total))
        )

    def _write_failed(self, error: str) -> None:
        self.notify(t("tui.step.write_error", error=printable(error)), severity="error", timeout=30)

    def _validated(self, outcomes: list[Any]) -> None:
        failed = [o for o in outcomes if not o.applied]
        state = self.state
        left = sum(1 for d in state.match.decisions if not state.link_of(d.pronote.idpn))
        self.app.notify(
            t(
                "tui.step.result",
                step=self.category.step,
                written=_counted("tui.step.n_written", sum(1 for o in outcomes if o.wrote)),
                refused=_counted("tui.step.n_refused", len(failed)),
                left=_counted("tui.step.n_left", left),
            ),
            timeout=8,
            markup=False,
        )
        if failed:
            first = printable(f"{failed[0].change.login}: {failed[0].reason}")
            self.notify(
                t("tui.step.failed", count=len(failed), first=first), severity="warning", timeout=15
            )
        self._next()

    def _next(self) -> None:
        if self.session.finished:
            from tui.screens.end import EndScreen

            self.app.switch_screen(EndScreen(self.session))
        else:
            self.app.switch_screen(StepScreen(self.session))

    def action_interrupt(self) -> None:
        from tui.screens.confirm import ConfirmDialog

        index = self.session.index
        steps = self.session.steps
        done = ", ".join(str(n + 1) for n in range(index))
        rest = ", ".join(str(n + 1) for n in range(index, len(steps)))
        pending = self.state.pending
        lines = [
            t("tui.step.interrupt_kept", steps=done) if done else t("tui.step.interrupt_none"),
            t("tui.step.interrupt_draft", count=number(pending))
            if pending
            else t("tui.step.interrupt_no_draft"),
            t("tui.step.interrupt_rest", steps=rest),
        ]

        def answered(yes: bool | None) -> None:
            if yes:
                self.session.interrupt()
                from tui.screens.end import EndScreen

                self.app.switch_screen(EndScreen(self.session))

        self.app.push_screen(
            ConfirmDialog(
                t("tui.step.interrupt_title"),
                lines,
                yes=t("tui.step.yes_interrupt"),
                no=t("tui.step.no"),
            ),
            answered,
        )
