"""The step screen's Validate and Interrupt: what each confirmation says (the plan, the
admin's own choices first; what stays written and what a resume brings back), the
Validate worker with its progress bar, and the words said once the step is written."""

from __future__ import annotations

from typing import Any

from textual import work
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import ProgressBar, Static

from core.errors import IdpronoteError
from core.i18n import language, number, register, t
from core.model import ChangeKind
from core.text import printable
from core.wizard import ImportSession
from core.wizard_state import StepState
from tui.screens.confirm import ask
from tui.screens.step_rows import name

register(
    {
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
        "tui.step.progress": ("{done} / {total}", "{done} / {total}"),
        "tui.step.result": (
            "Étape {step} : {written}, {refused}, {left}.",
            "Step {step}: {written}, {refused}, {left}.",
        ),
        "tui.step.n_written": ("{n} écrit|{n} écrits", "{n} written|{n} written"),
        "tui.step.n_refused": ("{n} refusé|{n} refusés", "{n} refused|{n} refused"),
        "tui.step.n_left": ("{n} non relié|{n} non reliés", "{n} unlinked|{n} unlinked"),
    }
)


def validate_title(session: ImportSession) -> str:
    return t(
        "tui.step.confirm_title",
        step=session.index + 1,
        total=len(session.steps),
        category=session.category.label(language()),
    )


def plan_lines(session: ImportSession) -> list[str]:
    """Validate's confirmation: the counts, then the admin's own choices first, then the rest."""
    state = session.current
    plan = session.plan()
    names = {
        login: name(d).plain
        for d in state.match.decisions
        if (login := state.link_of(d.pronote.idpn))
    }
    for o in state.match.obsolete:
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
        lines.append(t("tui.step.confirm_rejected", idpn=idpn, who=name(d).plain))
    for login, idpn in sorted(state.kept):
        lines.append(t("tui.step.confirm_kept", idpn=idpn, who=printable(login)))
    lines += other_lines
    for idpn, reason in plan.skipped:
        lines.append(f"! {idpn} " + t("tui.step.skipped", reason=printable(reason)))
    return lines


def interrupt_lines(session: ImportSession) -> list[str]:
    """What stays written, what the journal keeps, what is left for a resume."""
    index = session.index
    done = ", ".join(str(n + 1) for n in range(index))
    rest = ", ".join(str(n + 1) for n in range(index, len(session.steps)))
    pending = session.current.pending
    return [
        t("tui.step.interrupt_kept", steps=done) if done else t("tui.step.interrupt_none"),
        t("tui.step.interrupt_draft", count=number(pending))
        if pending
        else t("tui.step.interrupt_no_draft"),
        t("tui.step.interrupt_rest", steps=rest),
    ]


class WriteProgress(Message):
    """From the Validate worker: changes written so far (a flood collapses to the last)."""

    def __init__(self, done: int, total: int) -> None:
        super().__init__()
        self.done = done
        self.total = total

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, WriteProgress)


def writing_row() -> tuple[Horizontal, ProgressBar, Static]:
    """The row "Writing to the directory… ▇▇▇▇    120 / 2 838", its bar, its counts."""
    bar = ProgressBar(id="progress", show_eta=False, show_percentage=False)
    label = Static(t("tui.step.writing"))
    counts = Static("", id="progress-counts")
    for widget in (label, bar, counts):
        widget.styles.width = "auto"
        widget.styles.margin = (0, 1)
    row = Horizontal(label, bar, counts, id="writing")
    row.styles.height = "auto"
    return row, bar, counts


def progress_text(message: WriteProgress) -> str:
    return t("tui.step.progress", done=number(message.done), total=number(message.total))


def _counted(key: str, n: int) -> str:
    """`2 838 écrits`: the count as the language writes it, singular or plural."""
    one, many = t(key, n=number(n)).split("|")
    singular = n == 1 if language() == "en" else n < 2
    return one if singular else many


def result_text(state: StepState, outcomes: list[Any]) -> str:
    """The result: "Step 2: 2 838 written, 0 refused, 12 unlinked"."""
    failed = sum(1 for o in outcomes if not o.applied)
    left = sum(1 for d in state.match.decisions if not state.link_of(d.pronote.idpn))
    return t(
        "tui.step.result",
        step=state.category.step,
        written=_counted("tui.step.n_written", sum(1 for o in outcomes if o.wrote)),
        refused=_counted("tui.step.n_refused", failed),
        left=_counted("tui.step.n_left", left),
    )


def refused_text(failed: list[Any]) -> str:
    first = printable(f"{failed[0].change.login}: {failed[0].reason}")
    return t("tui.step.failed", count=len(failed), first=first)


def write_error_text(error: str) -> str:
    return t("tui.step.write_error", error=printable(error))


class Validating:
    """The step screen's V and I (a part of `StepScreen`, which gives the session, the
    state and the widgets `#busy` and `#tables`)."""

    session: ImportSession
    state: StepState
    app: Any
    notify: Any
    query_one: Any
    query: Any
    mount: Any
    post_message: Any
    writing: bool
    _progress: tuple[ProgressBar, Static] | None
    _next: Any

    def action_validate(self) -> None:
        yes = t("tui.step.yes_validate")
        lines = plan_lines(self.session)
        ask(self.app, validate_title(self.session), lines, yes=yes, no=t("tui.step.no"),
            then=self.validate)  # fmt: skip

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
            row, bar, counts = writing_row()
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
        counts.update(progress_text(message))

    def _write_failed(self, error: str) -> None:
        self.notify(write_error_text(error), severity="error", timeout=30)

    def _validated(self, outcomes: list[Any]) -> None:
        self.app.notify(result_text(self.state, outcomes), timeout=8, markup=False)
        failed = [o for o in outcomes if not o.applied]
        if failed:
            self.notify(refused_text(failed), severity="warning", timeout=15)
        self._next()

    def action_interrupt(self) -> None:
        def interrupt() -> None:
            self.session.interrupt()
            from tui.screens.end import EndScreen

            self.app.switch_screen(EndScreen(self.session))

        lines = interrupt_lines(self.session)
        ask(self.app, t("tui.step.interrupt_title"), lines, yes=t("tui.step.yes_interrupt"),
            no=t("tui.step.no"), then=interrupt)  # fmt: skip
