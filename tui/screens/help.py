"""F1: every key of the screen below (footer or not), with its binding id for `[keys]`."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from core.i18n import CATALOGUE, register, t
from tui.localise import Localised, localise

register(
    {
        "tui.help.title": ("Aide — touches de cet écran", "Help — keys of this screen"),
        "tui.help.remap": (
            "Chaque touche se redéfinit dans config.toml, section [keys], par son "
            "identifiant (entre crochets).",
            "Every key can be remapped in config.toml, section [keys], by its id (in brackets).",
        ),
        "tui.help.steps": (
            "Six étapes dans l'ordre : enseignants, élèves, responsables, maîtres de stage, "
            "inspecteurs, personnels. Valider écrit les identifiants de l'étape (automatiques "
            "et manuels) puis passe à la suivante ; Interrompre arrête l'import, les étapes "
            "validées restent écrites. Rien n'est écrit sans confirmation.",
            "Six steps in order: teachers, students, guardians, internship supervisors, "
            "inspectors, staff. Validate writes the step's identifiers (automatic and "
            "manual) and moves on; Interrupt stops the import, validated steps stay "
            "written. Nothing is written without a confirmation.",
        ),
        "tui.help.close": ("Fermer", "Close"),
        # issue 16: French
        "tui.help.move.up": ("Ligne précédente", "Previous line"),
        "tui.help.move.down": ("Ligne suivante", "Next line"),
        "tui.help.move.page_up": ("Page précédente", "Previous page"),
        "tui.help.move.page_down": ("Page suivante", "Next page"),
        "tui.help.move.scroll_top": ("Début de la liste", "Top of the list"),
        "tui.help.move.scroll_bottom": ("Fin de la liste", "End of the list"),
        "tui.help.move.to_picks": ("Vers la liste des comptes", "To the list of accounts"),
        "tui.help.move.to_table": ("Vers le tableau", "To the table"),
    }
)


def _keys(binding: Binding) -> str:
    return binding.key_display or binding.key


def _description(binding: Binding) -> str:
    """What the key does; the moving keys the footer never shows get words here."""
    if binding.description:
        return localise(binding.description)
    name, _, argument = binding.action.partition("(")
    move = argument.strip("()'\"") or name
    key = f"tui.help.move.{move}"
    return t(key) if key in CATALOGUE else ""


def _own_bindings(widget: object) -> list:
    """The keys the app's own classes give a widget (not those it inherits from
    Textual's: our table's Enter is the screen's, and Textual's have no id)."""
    return [
        binding
        for cls in type(widget).__mro__
        if cls.__module__.startswith("tui.")
        for binding in vars(cls).get("BINDINGS", [])
    ]


class HelpScreen(Localised, ModalScreen[None]):
    BINDINGS = [
        Binding("escape,f1,q", "dismiss", t("tui.help.close"), id="help.close"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 76; max-height: 22; border: round $accent; padding: 0 1; background: $surface;
    }
    HelpScreen .help-title { text-style: bold; }
    """

    def __init__(self, below: Screen) -> None:
        super().__init__()
        self.below = below

    def compose(self) -> ComposeResult:
        lines = []
        seen = set()
        # The app's own widgets under the cursor too (the search field's Enter);
        # Textual's widgets have their keys in the palette's Keys panel.
        focused = self.below.focused
        own = [
            node
            for node in (focused.ancestors_with_self if focused is not None else [])
            if type(node).__module__.startswith("tui.") and node not in (self.below, self.app)
        ]
        for source in (*own, self.below, self.app):
            for binding in _own_bindings(source) if source in own else source.BINDINGS:
                if not isinstance(binding, Binding) or binding.id in seen:
                    continue
                seen.add(binding.id)
                keys = self._current_keys(binding)
                description = _description(binding)
                lines.append(f"  {keys:<14} {description:<30} [{binding.id}]")
        with VerticalScroll():
            # Plain text, never markup: "[keys]" and the binding ids are brackets to show.
            yield Static(t("tui.help.title"), classes="help-title", markup=False)
            yield Static("\n".join(lines), markup=False)
            yield Static("")
            yield Static(t("tui.help.steps"), markup=False)
            yield Static("")
            yield Static(t("tui.help.remap"), markup=False)

    def _current_keys(self, binding: Binding) -> str:
        remapped = self.app.config.keys.get(binding.id or "") if binding.id else None
        return remapped or _keys(binding)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
