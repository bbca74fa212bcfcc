"""What the search dialog shows of each side: the Pronote record being linked (its
names, birth date, class, a guardian's children), the results' columns and cells with
their marks, and the highlighted account's details with why a link would be refused.

Every name comes from a file or the directory: shown as text, escaped, never markup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from rich.text import Text

from core.i18n import register, t
from core.model import DirectoryAccount, PronoteAccount
from core.text import printable
from tui.widgets.cells import cell
from tui.widgets.tables import ColumnSpec

register(
    {
        "tui.search.col_login": ("Login", "Login"),
        "tui.search.col_surname": ("Nom", "Surname"),
        "tui.search.col_first": ("Prénom", "First name"),
        "tui.search.col_born": ("Naissance", "Born"),
        "tui.search.col_classes": ("Classes", "Classes"),
        "tui.search.born": ("né(e) le {date}", "born {date}"),
        "tui.search.profiles": ("Profils : ", "Profiles: "),
        "tui.search.classes": ("Classes : ", "Classes: "),
        "tui.search.students": ("Élèves : ", "Students: "),
        "tui.search.establishments": ("Établissements : ", "Establishments: "),
        "tui.search.identifiers": ("Identifiants : ", "Identifiers: "),
        "tui.search.none_stored": ("aucun", "none"),
        "tui.search.this_establishment": ("cet établissement", "this establishment"),
        "tui.search.nothing_highlighted": ("Aucun compte sélectionné.", "No account selected."),
        "tui.search.col_uai": ("Étab.", "School"),
        "tui.search.col_profile": ("Profil", "Profile"),
        "tui.search.mark_taken": ("✗ pris", "✗ taken"),
        "tui.search.mark_holds": ("✗ occupé", "✗ has id"),
        "tui.search.mark_replaces": ("~ ancien", "~ stale"),
        "tui.search.why_taken": (
            "✗ pris : un autre compte Pronote de cette étape est déjà relié à ce compte ; "
            "Entrée serait refusée.",
            "✗ taken: another Pronote account of this step is linked to it already; "
            "Enter would be refused.",
        ),
        "tui.search.why_holds": (
            "✗ occupé : ce compte porte déjà un autre identifiant de cet établissement, "
            "encore utilisé ; Entrée serait refusée.",
            "✗ has id: this account already holds another identifier of this "
            "establishment, still in use; Enter would be refused.",
        ),
        "tui.search.why_replaces": (
            "~ ancien : ce compte porte un identifiant que le fichier n'a plus ; "
            "le lien le remplacera.",
            "~ stale: this account holds an identifier the file no longer has; "
            "the link replaces it.",
        ),
        "tui.search.record": ("Pronote : {who}", "Pronote: {who}"),
        "tui.search.record_class": ("classe {name}", "class {name}"),
        "tui.search.record_no_date": ("sans date de naissance", "no birth date"),
        "tui.search.children": ("enfants : {children}", "children: {children}"),
        "tui.search.no_children": (
            "aucun enfant dans le fichier",
            "no child in the file",
        ),
        "tui.search.child_unlinked": ("non relié", "not linked"),
    }
)

STAR = "★"
# Why a link to an account would be refused, or would replace a value ("taken",
# "holds", "replaces"), or None: ImportSession.link_check.
LinkCheck = Callable[[DirectoryAccount], str | None]
MARKS = {
    "taken": "tui.search.mark_taken",
    "holds": "tui.search.mark_holds",
    "replaces": "tui.search.mark_replaces",
}
WHY = {
    "taken": "tui.search.why_taken",
    "holds": "tui.search.why_holds",
    "replaces": "tui.search.why_replaces",
}


def result_columns(by_establishment: bool) -> list[ColumnSpec]:
    """The results' columns: with the establishment filter off, each row says whose it is."""
    columns = [
        ColumnSpec("mark", "", 9),  # "★✗ occupé"
        ColumnSpec("login", t("tui.search.col_login"), 13, grow=3, most=28),
        ColumnSpec("surname", t("tui.search.col_surname"), 10, grow=2, most=24),
        ColumnSpec("first", t("tui.search.col_first"), 8, grow=2, most=20),
        ColumnSpec("born", t("tui.search.col_born"), 10),
    ]
    if by_establishment:
        columns.append(ColumnSpec("classes", t("tui.search.col_classes"), 6, grow=1, most=16))
    else:
        columns.append(ColumnSpec("uai", t("tui.search.col_uai"), 8, grow=1, most=18))
        columns.append(ColumnSpec("profile", t("tui.search.col_profile"), 6, grow=1, most=24))
    return columns


def short_profile(value: str) -> str:
    """ "National_ELV" -> "ELV": the national prefix says nothing that tells rows apart."""
    return value.removeprefix("National_")


def short_date(value: date | None) -> str:
    return f"{value.day:02d}/{value.month:02d}/{value.year:04d}" if value else ""


def result_cells(
    account: DirectoryAccount, suggested: bool, obstacle: str | None, by_establishment: bool
) -> list[Text]:
    """A result's row: ★ if matching suggested it, the obstacle's mark, who it is."""
    mark = STAR if suggested else " "
    if obstacle is not None:
        mark += t(MARKS[obstacle])
    cells = [
        Text(mark.rstrip(), no_wrap=True, overflow="ellipsis"),
        cell(account.login),
        cell(account.surname),
        cell(account.first_name),
        cell(short_date(account.birth_date)),
    ]
    if by_establishment:
        cells.append(cell(",".join(account.classes)))
    else:
        cells.append(cell(",".join(account.establishments)))
        cells.append(cell(",".join(short_profile(p) for p in account.profiles)))
    return cells


def record_text(
    p: PronoteAccount | None, children: Sequence[tuple[PronoteAccount, str | None]] | None
) -> Text:
    """The Pronote side: names, birth date, class; a guardian's children and accounts
    (`children` None: not a guardian)."""
    if p is None:
        return Text()
    parts = [p.display_name]
    if p.birth_date is not None:
        parts.append(t("tui.search.born", date=short_date(p.birth_date)))
    elif children is None:
        parts.append(t("tui.search.record_no_date"))
    if p.class_name:
        parts.append(t("tui.search.record_class", name=p.class_name))
    if children is not None:
        if children:
            listed = "; ".join(
                f"{child.display_name}"
                + (f" {child.class_name}" if child.class_name else "")
                + f" → {login or t('tui.search.child_unlinked')}"
                for child, login in children
            )
            parts.append(t("tui.search.children", children=listed))
        else:
            parts.append(t("tui.search.no_children"))
    return Text(printable(t("tui.search.record", who=" · ".join(parts))))


def account_details(
    account: DirectoryAccount | None, obstacle: str | None, form: Any, uai: str
) -> Text:
    """The highlighted account's lines, and above them why Enter would be refused; the
    identifiers of this establishment (`form.idpns_for`) stand out."""
    if account is None:
        return Text(t("tui.search.nothing_highlighted"))
    text = Text(no_wrap=False)
    if obstacle is not None:
        text.append(t(WHY[obstacle]) + "\n", "bold")
    text.append(printable(account.login), "bold")
    text.append(f" — {printable(account.display_name)}")
    if account.birth_date:
        text.append(f" — {t('tui.search.born', date=short_date(account.birth_date))}")
    none = t("tui.search.none_stored")
    lines: list[tuple[str, str, tuple[str, ...]]] = [
        ("\n", "tui.search.profiles", account.profiles)
    ]
    # A guardian has children, not classes: show whichever tells them apart.
    if account.classes or not account.students:
        lines.append(("\n", "tui.search.classes", account.classes))
    if account.students:
        lines.append((" · " if account.classes else "\n", "tui.search.students", account.students))
    lines.append((" · ", "tui.search.establishments", account.establishments))
    for separator, label, values in lines:
        text.append(f"{separator}{t(label)}")
        text.append(printable(", ".join(values)) if values else none)
    text.append(f"\n{t('tui.search.identifiers')}")
    if not account.identifiers:
        text.append(none)
    for n, value in enumerate(account.identifiers):
        if n:
            text.append(", ")
        if form.idpns_for([value], uai):
            text.append(printable(value), "bold reverse")
            text.append(f" ({t('tui.search.this_establishment')})", "bold")
        else:
            text.append(printable(value))
    return text
