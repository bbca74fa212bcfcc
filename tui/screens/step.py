"""One step of the wizard: recognised and unrecognised accounts, links, validate, interrupt."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, LoadingIndicator, ProgressBar, Static

from core.errors import IdpronoteError
from core.i18n import language, number, register, t
from core.matching import Decision
from core.model import ChangeKind
from core.text import printable
from core.wizard import ImportSession
from tui.localise import LocalisedScreen
from tui.widgets.cells import cell

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


def _born(decision: Decision) -> str:
    born = decision.pronote.birth_date
    return born.strftime("%d/%m/%Y") if born else "—"


def _name(decision: Decision) -> Text:
    return cell(decision.pronote.display_name)


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
        # issue 16: with choices pending, Ctrl+C asks as Ctrl+Q does.
        Binding("ctrl+c", "app.quit_asking", t("tui.key.quit_asking"), show=False, id="step.quit"),
    ]

    def __init__(self, session: ImportSession) -> None:
        super().__init__()
        self.session = session
        self.state = session.current
        self.category = session.category
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
        with Vertical(id="tables"):
            yield Static("", id="recognised-heading", classes="heading")
            yield DataTable(id="recognised", cursor_type="row", zebra_stripes=True)
            yield Static("", id="unrecognised-heading", classes="heading")
            yield DataTable(id="unrecognised", cursor_type="row", zebra_stripes=True)
            if self.session.mode == "complet" and self.state.match.obsolete:
                yield Static("", id="obsolete-heading", classes="heading")
                yield DataTable(id="obsolete", cursor_type="row")
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
        recognised = self.query_one("#recognised", DataTable)
        recognised.add_column(t("tui.col.name"), width=18, key="name")
        recognised.add_column(t("tui.col.born"), width=10, key="born")
        recognised.add_column(t("tui.col.idpn"), width=16, key="idpn")
        recognised.add_column(t("tui.col.account"), width=16, key="account")
        recognised.add_column(t("tui.col.rule"), width=8, key="rule")
        unrecognised = self.query_one("#unrecognised", DataTable)
        unrecognised.add_column(t("tui.col.name"), width=18, key="name")
        unrecognised.add_column(t("tui.col.born"), width=10, key="born")
        unrecognised.add_column(t("tui.col.idpn"), width=16, key="idpn")
        unrecognised.add_column(t("tui.col.link"), width=15, key="account")
        unrecognised.add_column(t("tui.col.reason"), width=9, key="rule")
        with self.app.batch_update():
            self._fill()
        self._headings()
        if not self.state.match.unrecognised:
            recognised.focus()

    def _fill(self) -> None:
        """Rows keyed by identifier, so one link updates one row."""
        recognised = self.query_one("#recognised", DataTable)
        recognised.clear()
        for d in self.state.match.recognised:
            recognised.add_row(*self._cells(d), key=d.pronote.idpn)
        unrecognised = self.query_one("#unrecognised", DataTable)
        unrecognised.clear()
        for d in self.state.match.unrecognised:
            unrecognised.add_row(*self._cells(d), key=d.pronote.idpn)
        if self.query("#obsolete"):
            obsolete = self.query_one("#obsolete", DataTable)
            obsolete.clear(columns=True)
            obsolete.add_column(t("tui.col.account"), width=18, key="account")
            obsolete.add_column(t("tui.col.name"), width=26, key="name")
            obsolete.add_column(t("tui.col.idpn"), width=16, key="idpn")
            obsolete.add_column(t("tui.col.action"), width=8, key="action")
            for o in self.state.match.obsolete:
                obsolete.add_row(
                    cell(o.account.login),
                    cell(o.account.display_name),
                    o.idpn,
                    self._obsolete_action(o.account.login, o.idpn),
                    key=f"{o.account.login}\x00{o.idpn}",
                )

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

    def _headings(self) -> None:
        state = self.state
        linked = sum(1 for d in state.match.unrecognised if state.link_of(d.pronote.idpn))
        self.query_one("#recognised-heading", Static).update(
            t("tui.step.recognised", count=len(state.match.recognised))
        )
        self.query_one("#unrecognised-heading", Static).update(
            t("tui.step.unrecognised", count=len(state.match.unrecognised), linked=linked)
        )
        if self.query("#obsolete-heading"):
            removed = sum(
                1 for o in state.match.obsolete if (o.account.login, o.idpn) not in state.kept
            )
            self.query_one("#obsolete-heading", Static).update(
                t("tui.step.obsolete", count=len(state.match.obsolete), removed=removed)
            )

    def _refresh_row(self, idpn: str) -> None:
        d = self.state.decision(idpn)
        table = self.query_one("#recognised" if d.recognised else "#unrecognised", DataTable)
        for column, value in zip(
            ("name", "born", "idpn", "account", "rule"), self._cells(d), strict=True
        ):
            table.update_cell(idpn, column, value)
        self._headings()
        self._show_detail()

    # -- what is highlighted ---------------------------------------------------------------------

    def _table(self) -> DataTable | None:
        focused = self.focused
        return focused if isinstance(focused, DataTable) else None

    def _highlighted(self) -> Decision | None:
        table = self._table()
        if table is None or table.id == "obsolete" or table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.state.decision(key) if key else None

    def _show_detail(self) -> None:
        table = self._table()
        detail = self.query_one("#detail", Static)
        if table is not None and table.id == "obsolete" and table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value or ""
            login, _, idpn = key.partition("\x00")
            detail.update(
                Text(
                    t(
                        "tui.step.obsolete_detail",
                        login=printable(login),
                        idpn=idpn,
                        action=self._obsolete_action(login, idpn),
                    )
                )
            )
            return
        d = self._highlighted()
        if d is None:
            detail.update("")
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
        detail.update(Text(printable(text)))

    @on(DataTable.RowHighlighted)
    def _highlight(self, _event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def on_descendant_focus(self, _event: Any) -> None:
        self._show_detail()

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "obsolete":
            self.action_keep()
        else:
            self.action_search()

    # -- the admin's decisions --------------------------------------------------------------------

    def action_search(self) -> None:
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

        self.app.push_screen(
            SearchDialog(
                self.session.directory,
                uai=self.session.uai,
                category=self.category,
                query=d.pronote.display_name,
                candidates=d.candidates,
                title=d.pronote.display_name,
            ),
            linked,
        )

    def action_clear(self) -> None:
        d = self._highlighted()
        if d is not None:
            self.session.clear(d.pronote.idpn)
            self._refresh_row(d.pronote.idpn)

    def action_reject(self) -> None:
        d = self._highlighted()
        if d is None or not d.recognised:
            return
        if d.pronote.idpn in self.state.rejected:
            self.session.restore(d.pronote.idpn)
        else:
            self.session.clear(d.pronote.idpn)
        self._refresh_row(d.pronote.idpn)

    def action_keep(self) -> None:
        if not self.query("#obsolete"):
            return
        table = self.query_one("#obsolete", DataTable)
        if not table.row_count:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value or ""
        login, _, idpn = key.partition("\x00")
        self.session.keep_obsolete(login, idpn, (login, idpn) not in self.state.kept)
        table.update_cell(key, "action", self._obsolete_action(login, idpn))
        self._headings()
        self._show_detail()

    def _move_unrecognised(self, step: int) -> None:
        table = self.query_one("#unrecognised", DataTable)
        table.focus()
        decisions = self.state.match.unrecognised
        if not decisions:
            return
        start = table.cursor_row
        for offset in range(1, len(decisions) + 1):
            row = (start + step * offset) % len(decisions)
            if not self.state.link_of(decisions[row].pronote.idpn):
                table.move_cursor(row=row)
                return

    def action_next_unrecognised(self) -> None:
        self._move_unrecognised(1)

    def action_previous_unrecognised(self) -> None:
        self._move_unrecognised(-1)

    def action_switch_table(self) -> None:
        tables = list(self.query(DataTable))
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
