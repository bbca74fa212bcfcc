"""The support desk: type a name, a login or a Pronote identifier; see why that person
cannot open Pronote from the ENT, and apply the one next action after a confirmation.

The explanation is core.support.explain, run in a debounced, exclusive thread
worker (a slow directory never holds the keyboard); a link or unlink goes
through core.support.apply_action (locked, journaled, undoable), then the
person is explained again. Several accounts for a name: pick one in the list.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState, get_current_worker

from core.errors import IdpronoteError
from core.i18n import register, t
from core.model import ChangeOutcome
from core.support import Explanation, apply_action, explain
from core.text import printable
from tui.localise import LocalisedScreen
from tui.screens.confirm import ask
from tui.widgets.keys import scroll_keys
from tui.widgets.typing import TypingPause

register(
    {
        "tui.support.title": (
            "Support : pourquoi Pronote refuse-t-il ?",
            "Support: why won't Pronote open?",
        ),
        "tui.support.uai": ("établissement {uai}", "establishment {uai}"),
        "tui.support.any_uai": ("tout établissement", "any establishment"),
        "tui.support.placeholder": (
            "nom, login ou identifiant Pronote",
            "name, login or Pronote identifier",
        ),
        "tui.support.type": (
            "Tapez le nom, le login ou l'identifiant Pronote de la personne.",
            "Type the person's name, login or Pronote identifier.",
        ),
        "tui.support.working": ("Recherche…", "Looking…"),
        "tui.support.failed": ("Explication impossible : {error}", "Cannot explain: {error}"),
        "tui.support.apply_title": ("Appliquer cette action ?", "Apply this action?"),
        "tui.support.apply_undo": (
            "L'écriture est journalisée : idpronote history puis undo pour revenir en arrière.",
            "The write is journaled: idpronote history, then undo, to revert it.",
        ),
        "tui.support.yes": ("Appliquer", "Apply"),
        "tui.support.no": ("Ne rien faire", "Do nothing"),
        "tui.support.nothing_to_apply": (
            "Rien à appliquer ici : {action}",
            "Nothing to apply here: {action}",
        ),
        "tui.support.applied": ("Fait : {action}", "Done: {action}"),
        "tui.support.refused": ("Non appliqué : {reason}", "Not applied: {reason}"),
        "tui.support.key_back": ("Retour", "Back"),
        "tui.support.key_apply": ("Appliquer", "Apply"),
        "tui.support.key_search": ("Chercher", "Search"),
        "tui.support.key_pick": ("Choisir", "Pick"),
        "tui.support.command_help": (
            "Pourquoi une personne ne peut pas ouvrir Pronote depuis l'ENT",
            "Why a person cannot open Pronote from the ENT",
        ),
    }
)

DEBOUNCE_SECONDS = 0.3
FINISHED = (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED)


class SupportScreen(LocalisedScreen[None]):
    """Explain one person; apply the proposed link or unlink after a confirmation."""

    DEFAULT_CSS = """
    SupportScreen #support-heading {
        height: 1;
        padding: 0 1;
        text-style: bold;
    }
    SupportScreen #support-input {
        margin: 0 1;
    }
    SupportScreen #support-picks {
        height: auto;
        max-height: 8;
        margin: 0 1;
        display: none;
    }
    SupportScreen #support-picks.shown {
        display: block;
    }
    SupportScreen #support-body {
        height: 1fr;
        padding: 0 1;
        scrollbar-size-vertical: 1;
    }
    """

    AUTO_FOCUS = "#support-input"

    BINDINGS = [
        Binding("escape", "back", t("tui.support.key_back"), id="support.back"),
        Binding("f2", "apply", t("tui.support.key_apply"), id="support.apply"),
        # From the input, Down reaches the pick list of a name with several accounts.
        Binding("down", "to_picks", show=False, id="support.to_picks"),
        *scroll_keys("support"),
    ]

    def __init__(
        self,
        directory: Any,
        *,
        uai: str | None,
        data_dir: Path | None,
        export: Any = None,
        settings: Any = None,
        schema: Any = None,
        query: str = "",
    ) -> None:
        super().__init__()
        self.directory = directory
        self.uai = uai.strip().upper() if uai else None
        self.data_dir = data_dir
        self.export = export
        self.settings = settings
        self.schema = schema
        self.query_text = printable(query)
        self.explanation: Explanation | None = None
        self._pause = TypingPause(self, self._explain_now)
        self._applying = False

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="support-heading")
        yield Input(self.query_text, placeholder=t("tui.support.placeholder"), id="support-input")
        yield OptionList(id="support-picks")
        with VerticalScroll(id="support-body", can_focus=False):
            yield Static(Text(t("tui.support.type")), id="support-text")
        yield Footer()

    def on_mount(self) -> None:
        where = t("tui.support.uai", uai=self.uai) if self.uai else t("tui.support.any_uai")
        self.query_one("#support-heading", Static).update(
            Text(f"{t('tui.support.title')} · {where}")
        )
        if self.query_text:
            self._explain_now()

    def _show(self, text: str) -> None:
        self.query_one("#support-text", Static).update(Text(text))
        self.query_one("#support-body", VerticalScroll).scroll_home(animate=False)

    # -- explaining -----------------------------------------------------------------------

    @on(Input.Changed, "#support-input")
    def _typed(self, event: Input.Changed) -> None:
        self._pause.typed(event, DEBOUNCE_SECONDS)

    @on(Input.Submitted, "#support-input")
    def _submitted(self) -> None:
        self._explain_now()

    def _explain_now(self, who: str | None = None) -> None:
        self._pause.stop()
        who = (who if who is not None else self.query_one("#support-input", Input).value).strip()
        if not who:
            self.explanation = None
            self._picks([])
            self._show(t("tui.support.type"))
            return
        self._show(t("tui.support.working"))
        self._explain(who)

    @work(thread=True, exclusive=True, group="explain", exit_on_error=False)
    def _explain(self, who: str) -> None:
        worker = get_current_worker()
        found = explain(
            self.directory,
            who,
            uai=self.uai,
            export=self.export,
            data_dir=self.data_dir,
            settings=self.settings,
            schema=self.schema,
        )
        if not worker.is_cancelled:
            self.app.call_from_thread(self._explained, found)

    def _explained(self, found: Explanation) -> None:
        if not self.is_attached:
            return
        self.explanation = found
        if found.cause == "several":
            self._picks(found.accounts)
        else:
            self._picks([])
        self._show("\n".join(printable(line) for line in found.lines()))
        self.refresh_bindings()

    def _picks(self, accounts: list[Any]) -> None:
        picks = self.query_one("#support-picks", OptionList)
        picks.clear_options()
        for account in accounts:
            born = account.birth_date.strftime("%d/%m/%Y") if account.birth_date else ""
            login = printable(account.login)[:24]
            label = f"{login:<24} {printable(account.display_name)[:32]:<32} {born}"
            picks.add_option(Option(Text(label), id=account.login))
        picks.set_class(bool(accounts), "shown")

    @on(OptionList.OptionSelected, "#support-picks")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        login = event.option.id or ""
        field = self.query_one("#support-input", Input)
        with field.prevent(Input.Changed):
            field.value = login
        self.set_focus(field)
        self._explain_now(login)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "apply" and event.state in FINISHED:
            self._applying = False
        if event.state is not WorkerState.ERROR:
            return
        error = printable(str(event.worker.error))
        if event.worker.group == "explain":
            self._show(t("tui.support.failed", error=error))
        elif event.worker.group == "apply":
            self.notify(t("tui.support.refused", reason=error), severity="error", timeout=15)

    # -- applying -------------------------------------------------------------------------

    def action_apply(self) -> None:
        found = self.explanation
        if found is None or self._applying:
            self.app.bell()
            return
        action = found.action
        if not action.writes:
            self.notify(t("tui.support.nothing_to_apply", action=printable(action.describe())))
            return
        lines = [action.describe(), "", found.cause_text()]
        if self.data_dir is not None:
            lines += ["", t("tui.support.apply_undo")]

        def apply() -> None:
            if not self._applying:
                self._applying = True
                self._apply(found)

        ask(self.app, t("tui.support.apply_title"), lines, yes=t("tui.support.yes"),
            no=t("tui.support.no"), then=apply)  # fmt: skip

    @work(thread=True, group="apply", exit_on_error=False)
    def _apply(self, found: Explanation) -> None:
        outcome = apply_action(
            self.directory,
            found.action,
            data_dir=self.data_dir,
            in_file=found.file_ids,
            mode=found.file.mode,
        )
        again = explain(
            self.directory,
            found.query,
            uai=self.uai,
            export=self.export,
            data_dir=self.data_dir,
            settings=self.settings,
            schema=self.schema,
        )
        self.app.call_from_thread(self._applied, found, outcome, again)

    def _applied(self, found: Explanation, outcome: ChangeOutcome, again: Explanation) -> None:
        if outcome.applied:
            self.notify(t("tui.support.applied", action=printable(found.action.describe())))
        else:
            reason = printable(outcome.reason or "")
            self.notify(t("tui.support.refused", reason=reason), severity="error", timeout=15)
        if self.is_attached:
            self._explained(again)

    # -- moving ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "apply":
            found = self.explanation
            return found is not None and found.action.writes
        return True

    def action_to_picks(self) -> None:
        picks = self.query_one("#support-picks", OptionList)
        if picks.has_class("shown") and picks.option_count:
            picks.focus()
            if picks.highlighted is None:
                picks.highlighted = 0
        else:
            self.action_scroll("down")

    def action_scroll(self, how: str) -> None:
        getattr(self.query_one("#support-body", VerticalScroll), f"scroll_{how}")()

    def action_back(self) -> None:
        self.app.pop_screen()


def open_support(app: Any, *, uai: str | None = None, export: Any = None) -> None:
    """Push the support screen (from the start screen's F7 or the command palette)."""
    try:
        directory = app.open_directory()
    except IdpronoteError as error:
        app.notify(printable(str(error)), severity="error", timeout=15)
        return
    config = app.config
    app.push_screen(
        SupportScreen(
            directory,
            uai=uai,
            data_dir=config.data_dir,
            export=export,
            settings=config.matching,
            schema=config.file_schema,
        )
    )
