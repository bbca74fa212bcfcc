"""The step screen's tables: their columns, their rows, their filter, their headings, the
detail line under them. What a row says is read from the step's state; nothing here
changes a decision."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Input

from core.i18n import language, number, register, t
from core.matching import Decision
from core.text import printable
from core.wizard_state import StepState
from tui.widgets.cells import cell
from tui.widgets.tables import ColumnSpec, Row, fold

register(
    {
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
    }
)

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


def short_word(table: dict[str, tuple[str, str]], code: str) -> str:
    """A rule's or a reason's word for a narrow column, in the admin's language."""
    french, english = table.get(code, (code, code))
    return english if language() == "en" else french


def born(decision: Decision) -> str:
    value = decision.pronote.birth_date
    return value.strftime("%d/%m/%Y") if value else "—"


def name(decision: Decision) -> Text:
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


# -- columns -----------------------------------------------------------------------------------


def _who_columns() -> list[ColumnSpec]:
    """Who the Pronote record is: the first columns of both decision tables."""
    return [
        ColumnSpec("name", t("tui.col.name"), 18, grow=4, most=40),
        ColumnSpec("born", t("tui.col.born"), 10),
        ColumnSpec("idpn", t("tui.col.idpn"), 16),
    ]


def recognised_columns() -> list[ColumnSpec]:
    return [
        *_who_columns(),
        ColumnSpec("account", t("tui.col.account"), 16, grow=3, most=32),
        ColumnSpec("rule", t("tui.col.rule"), 8, grow=1, most=10),
    ]


def unrecognised_columns() -> list[ColumnSpec]:
    return [
        *_who_columns(),
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


# -- rows ------------------------------------------------------------------------------------


def decision_cells(state: StepState, d: Decision) -> tuple[str | Text, ...]:
    idpn = d.pronote.idpn
    login = state.link_of(idpn)
    if d.recognised:
        account = login if login else t("tui.step.rejected")
        rule = short_word(RULE_SHORT, d.rule)
        if state.source(idpn) == "manual":
            rule = "✎"
    else:
        account = login or "—"
        rule = short_word(REASON_SHORT, d.rule)
    return (name(d), born(d), idpn, cell(account), rule)


def decision_row(state: StepState, d: Decision) -> Row:
    """A row keyed by identifier, so one link updates one row."""
    cells = decision_cells(state, d)
    name_text, _born_text, idpn, account, rule = (str(c) for c in cells)
    p = d.pronote
    folded = fold(f" {name_text} {idpn} {account} {rule} {_reason_words(d)}")
    by_date = p.birth_date.toordinal() if p.birth_date else 0
    sort = (fold(name_text), by_date, idpn, fold(account), fold(rule))
    return Row(idpn, tuple(c if isinstance(c, Text) else Text(c) for c in cells), folded, sort)


def obsolete_action(state: StepState, login: str, idpn: str) -> str:
    kept = (login, idpn) in state.kept
    return t("tui.step.keep") if kept else t("tui.step.remove")


def obsolete_row(state: StepState, o: Any) -> Row:
    login, display = o.account.login, o.account.display_name
    action = obsolete_action(state, login, idpn=o.idpn)
    cells = (cell(login), cell(display), Text(o.idpn), Text(action))
    folded = fold(f" {printable(login)} {printable(display)} {o.idpn} {action}")
    sort = (fold(login), fold(display), o.idpn, action)
    return Row(f"{login}\x00{o.idpn}", cells, folded, sort)


# -- what the headings and the detail line say ---------------------------------------------------


def headings(state: StepState, shown: dict[str, int]) -> dict[str, str]:
    """Each table's heading (`#name-heading`), for the rows `shown` of each table."""
    linked = sum(1 for d in state.match.unrecognised if state.link_of(d.pronote.idpn))

    def counts(table: str, count: int) -> dict[str, Any]:
        seen = shown[table]
        return {"count": number(count), "shown": number(seen), "filtered": seen != count}

    out: dict[str, str] = {}
    recognised = counts("recognised", len(state.match.recognised))
    key = "tui.step.recognised_filtered" if recognised["filtered"] else "tui.step.recognised"
    out["recognised"] = t(key, **recognised)
    unrecognised = counts("unrecognised", len(state.match.unrecognised))
    key = "tui.step.unrecognised"
    if unrecognised["filtered"]:
        key = "tui.step.unrecognised_filtered"
    out["unrecognised"] = t(key, linked=number(linked), **unrecognised)
    if "obsolete" in shown:
        removed = sum(
            1 for o in state.match.obsolete if (o.account.login, o.idpn) not in state.kept
        )
        obsolete = counts("obsolete", len(state.match.obsolete))
        key = "tui.step.obsolete_filtered" if obsolete["filtered"] else "tui.step.obsolete"
        out["obsolete"] = t(key, removed=number(removed), **obsolete)
    return out


def obsolete_detail(state: StepState, key: str) -> str:
    login, _, idpn = key.partition("\x00")
    action = obsolete_action(state, login, idpn)
    return t("tui.step.obsolete_detail", login=printable(login), idpn=idpn, action=action)


def decision_detail(state: StepState, d: Decision) -> str:
    idpn = d.pronote.idpn
    source = state.source(idpn)
    if source == "manual":
        text = t("tui.step.manual", login=printable(state.link_of(idpn)))
    elif d.recognised and idpn in state.rejected:
        text = t("tui.step.rejected_detail")
    else:
        text = d.explain()
        if d.candidates and not d.recognised:
            text += " — " + t("tui.step.candidates", logins=", ".join(d.candidates[:4]))
    return printable(text)
