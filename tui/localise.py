"""Textual's own words in the admin's language, for this app only.

Textual speaks English: its widgets' key descriptions (DataTable's "Cursor
up", Input's "Delete character left"…) shown in the footer and in the Keys
panel, the command palette ("Search for commands…", "Keys", "Quit"…), and a
few notices (Ctrl+C's "Do you want to quit?", the screenshot's). Nothing here
patches Textual: the screens of this app show their bindings through
`Localised.active_bindings`, the app overrides the palette and the notices
(`tui.app`), and every other Textual app in the process is left alone.

The same lookup makes our own key descriptions follow the language chosen at
run time: a description written `t("tui.key.help")` when the module was
imported (in French) is shown in English after `--lang en`.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from rich.align import Align
from rich.text import Text
from textual.binding import ActiveBinding, Binding
from textual.command import CommandList, CommandPalette
from textual.screen import ModalScreen, Screen
from textual.widgets.option_list import Option

from core.i18n import CATALOGUE, language, register, t

if TYPE_CHECKING:
    from textual.app import ComposeResult

register(
    {
        # issue 16: French
        "tui.palette.placeholder": ("Chercher une commande…", "Search for commands…"),
        "tui.palette.themes": ("Chercher un thème…", "Search for themes…"),
        "tui.palette.no_matches": ("Aucune commande ne correspond", "No matches found"),
        "tui.palette.theme": ("Thème", "Theme"),
        "tui.palette.theme_help": ("Changer le thème des couleurs", "Change the current theme"),
        "tui.palette.quit": ("Quitter", "Quit"),
        "tui.palette.quit_help": ("Quitter idpronote tout de suite", "Quit idpronote at once"),
        "tui.palette.keys": ("Touches", "Keys"),
        "tui.palette.keys_show": (
            "Afficher le panneau des touches de l'écran",
            "Show the panel of this screen's keys",
        ),
        "tui.palette.keys_hide": (
            "Masquer le panneau des touches",
            "Hide the panel of keys",
        ),
        "tui.palette.maximize": ("Agrandir", "Maximize"),
        "tui.palette.maximize_help": (
            "Agrandir le tableau ou le champ qui a le curseur",
            "Maximize the focused table or field",
        ),
        "tui.palette.minimize": ("Réduire", "Minimize"),
        "tui.palette.minimize_help": (
            "Rendre sa taille au tableau agrandi",
            "Restore the maximized table to its size",
        ),
        "tui.palette.screenshot": ("Capture d'écran", "Screenshot"),
        "tui.palette.screenshot_help": (
            "Enregistrer l'écran en SVG dans le dossier courant",
            "Save the screen as SVG in the current folder",
        ),
        "tui.palette.bell": ("Sonnerie", "Bell"),
        "tui.palette.bell_help": ("Faire sonner le terminal", "Ring the bell"),
        "tui.notice.quit_title": ("Quitter ?", "Do you want to quit?"),
        "tui.notice.quit": ("Pour quitter, appuyez sur {key}", "Press {key} to quit"),
        "tui.notice.screenshot_title": ("Capture d'écran", "Screenshot"),
        "tui.notice.screenshot_saved": ("Capture enregistrée", "Screenshot saved"),
        "tui.notice.screenshot_saved_to": (
            "Capture enregistrée dans {path}",
            "Screenshot saved to {path}",
        ),
        "tui.notice.screenshot_failed": (
            "Capture impossible à enregistrer",
            "Failed to save screenshot",
        ),
    }
)

# Textual's English, word for word as the installed version writes it (binding
# descriptions and tooltips of every widget this app shows, group titles).
# tests/tui/test_tui_french.py fails when a Textual upgrade brings one not here.
TEXTUAL_FR: dict[str, str] = {
    "Bottom": "Fin",
    "Copy selected text": "Copier le texte choisi",
    "Cursor down": "Curseur vers le bas",
    "Cursor left": "Curseur à gauche",
    "Cursor right": "Curseur à droite",
    "Cursor up": "Curseur vers le haut",
    "Cut selected text": "Couper le texte choisi",
    "Delete all to the left": "Effacer tout à gauche",
    "Delete all to the right": "Effacer tout à droite",
    "Delete character left": "Effacer le caractère à gauche",
    "Delete character right": "Effacer le caractère à droite",
    "Delete left to start of word": "Effacer jusqu'au début du mot",
    "Delete right to start of word": "Effacer jusqu'au mot suivant",
    "Down": "Bas",
    "End": "Fin",
    "Exit the command palette": "Fermer la palette",
    "First": "Premier",
    "Focus Next": "Élément suivant",
    "Focus Previous": "Élément précédent",
    "Go to bottom": "Aller à la fin",
    "Go to end": "Aller à la fin",
    "Go to start": "Aller au début",
    "Go to top": "Aller au début",
    "Home": "Début",
    "Last": "Dernier",
    "Move cursor left": "Curseur à gauche",
    "Move cursor left a word": "Mot précédent",
    "Move cursor left a word and select": "Choisir jusqu'au mot précédent",
    "Move cursor left and select": "Choisir à gauche",
    "Move cursor right": "Curseur à droite",
    "Move cursor right a word": "Mot suivant",
    "Move cursor right a word and select": "Choisir jusqu'au mot suivant",
    "Move cursor right and select": "Choisir à droite",
    "Move cursor right or accept the completion suggestion": (
        "Curseur à droite, ou accepter la suggestion"
    ),
    "Next command": "Commande suivante",
    "Next option": "Choix suivant",
    "Next page": "Page suivante",
    "Page Down": "Page suivante",
    "Page Left": "Page à gauche",
    "Page Right": "Page à droite",
    "Page Up": "Page précédente",
    "Page down": "Page suivante",
    "Page up": "Page précédente",
    "Paste text from the clipboard": "Coller le presse-papiers",
    "Press button": "Appuyer sur le bouton",
    "Previous command": "Commande précédente",
    "Previous option": "Choix précédent",
    "Previous page": "Page précédente",
    "Quit": "Quitter",
    "Quit the app and return to the command prompt.": "Quitter et revenir au terminal.",
    "Scroll Down": "Défiler vers le bas",
    "Scroll End": "Défiler jusqu'à la fin",
    "Scroll Home": "Défiler jusqu'au début",
    "Scroll Left": "Défiler à gauche",
    "Scroll Right": "Défiler à droite",
    "Scroll Up": "Défiler vers le haut",
    "Select": "Choisir",
    "Select all": "Tout choisir",
    "Select line end": "Choisir jusqu'à la fin",
    "Select line start": "Choisir jusqu'au début",
    "Submit": "Valider la saisie",
    "Toggle": "Cocher/décocher",
    "Top": "Début",
    "Up": "Haut",
    "Input": "Saisie",
    "palette": "palette",  # French too; the footer keeps its word
    "Open the command palette": "Ouvrir la palette de commandes",
}

_reverse: dict[str, str] = {}
_reverse_size = -1


def _reverse_catalogue() -> dict[str, str]:
    """Either language's wording of a message -> its key (rebuilt as modules register more)."""
    global _reverse_size
    if _reverse_size != len(CATALOGUE):
        _reverse.clear()
        for key, (fr, en) in CATALOGUE.items():
            if "{" in fr:
                continue
            _reverse.setdefault(fr, key)
            _reverse.setdefault(en, key)
        _reverse_size = len(CATALOGUE)
    return _reverse


def localise(text: str) -> str:
    """`text` (a message key, one of our messages in either language, or Textual's English)
    in the current language; anything else unchanged."""
    if not text:
        return text
    if text in CATALOGUE:
        return t(text)
    key = _reverse_catalogue().get(text)
    if key is not None:
        return t(key)
    if language() == "fr":
        return TEXTUAL_FR.get(text, text)
    return text


def localised_binding(binding: Binding) -> Binding:
    description = localise(binding.description)
    tooltip = localise(binding.tooltip)
    if description == binding.description and tooltip == binding.tooltip:
        return binding
    return replace(binding, description=description, tooltip=tooltip)


class Localised:
    """Mixed into every screen of the app: its footer and Keys panel in the admin's language.

    Textual's Footer and Keys panel both read `screen.active_bindings`; here
    each binding comes back with its description and tooltip localised, and
    each group title (Input's "Input") is set on the instance, never on the
    Textual class.
    """

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        bindings: dict[str, ActiveBinding] = super().active_bindings  # type: ignore[misc]
        out: dict[str, ActiveBinding] = {}
        for key, active in bindings.items():
            namespace = active.node
            title = type(namespace).BINDING_GROUP_TITLE
            if title:
                namespace.BINDING_GROUP_TITLE = localise(title)
            out[key] = ActiveBinding(
                namespace,
                localised_binding(active.binding),
                active.enabled,
                localise(active.tooltip),
            )
        return out

    def notify(self, message: str, **options: Any) -> None:
        """A notice of this app is text, not markup (it names logins, files, errors);
        the app's own `notify` (tui/app.py) puts it in the admin's language."""
        options.setdefault("markup", False)
        super().notify(message, **options)  # type: ignore[misc]


ResultType = TypeVar("ResultType")


class LocalisedScreen(Localised, Screen[ResultType]):
    """A full screen of the app."""


class LocalisedModal(Localised, ModalScreen[ResultType]):
    """A dialog of the app: F1 opens the help here too (a modal hides the app's bindings).

    The binding has the app's id, so that `[keys] app.help` moves F1 in dialogs too.
    """

    BINDINGS = [Binding("f1", "app.help", t("tui.key.help"), id="app.help")]


class LocalisedCommandList(CommandList):
    """The palette's list, saying "no match" in the admin's language."""

    def add_option(self, option: Any = None) -> Any:
        if isinstance(option, Option) and option.id == CommandPalette._NO_MATCHES:
            option = Option(
                Align.center(Text(t("tui.palette.no_matches"), style="not bold")),
                disabled=True,
                id=CommandPalette._NO_MATCHES,
            )
        return super().add_option(option)


class LocalisedCommandPalette(Localised, CommandPalette):
    """Textual's command palette, with our placeholder and our "no match"."""

    def __init__(self, *args: Any, placeholder: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, placeholder=placeholder or t("tui.palette.placeholder"), **kwargs)

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if type(widget) is CommandList:
                widget = LocalisedCommandList()
            yield widget


_SCREENSHOT_TO = re.compile(r"^Saved screenshot to \[\$text-success\](?P<path>.*)$", re.S)


def localised_notice(message: str, title: str) -> tuple[str, str, bool]:
    """Textual's own notices in the admin's language: (message, title, markup)."""
    if title == "Screenshot":
        title = t("tui.notice.screenshot_title")
        if message == "Saved screenshot":
            return t("tui.notice.screenshot_saved"), title, False
        if message == "Failed to save screenshot":
            return t("tui.notice.screenshot_failed"), title, False
        found = _SCREENSHOT_TO.match(message)
        if found:
            return t("tui.notice.screenshot_saved_to", path=found["path"]), title, False
    return message, title, True
