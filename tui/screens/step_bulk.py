"""The step screen's decisions in bulk (issue 16: big steps): A links every unrecognised
account to its one ★ candidate, R rejects every "close" automatic link. Each asks first,
listing what it would do; while the links are made (a thread: each reads the directory),
no other decision of the step meets them halfway (`StepScreen.check_action`)."""

from __future__ import annotations

from typing import Any

from textual import work

from core.i18n import number, register, t
from core.text import printable
from core.wizard import ImportSession
from tui.screens import step_validate as _validate  # noqa: F401  (registers tui.step.no)
from tui.screens.confirm import ask
from tui.screens.step_rows import REASON_SHORT, born, short_word

register(
    {
        # issue 16: big steps
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
        "tui.step.accepted": (
            "{linked} compte(s) relié(s) à la main, {refused} refusé(s)",
            "{linked} account(s) linked by hand, {refused} refused",
        ),
        "tui.step.accept_refused": ("Refusé : {error}", "Refused: {error}"),
        "tui.step.rejected_many": (
            "{count} lien(s) « proche » refusé(s)",
            "{count} 'close' link(s) rejected",
        ),
        "tui.step.nothing_to_do": ("Rien à faire", "Nothing to do"),
    }
)


def accept_lines(session: ImportSession, proposals: list[tuple[str, str]]) -> list[str]:
    """A: each account and its one ★ candidate, birth dates side by side."""
    state = session.current
    lines = [t("tui.step.accept_intro"), ""]
    for idpn, login in proposals:
        d = state.decision(idpn)
        reason = short_word(REASON_SHORT, d.rule)
        account = session.reconciliation.by_login(login)
        theirs = account.birth_date if account is not None else None
        # Birth dates side by side when Pronote has one (guardians have none).
        dates = ""
        if d.pronote.birth_date is not None:
            dates = f" {born(d)} / {theirs.strftime('%d/%m/%Y') if theirs else '—'}"
        lines.append(printable(f"{d.pronote.display_name} → {login} ({reason}){dates}"))
    return lines


def reject_lines(session: ImportSession, fuzzy: list[str]) -> list[str]:
    """R: each "close" link, with the account's own name."""
    state = session.current
    lines = [t("tui.step.reject_intro"), ""]
    for idpn in fuzzy:
        d = state.decision(idpn)
        account = session.reconciliation.by_login(d.login or "")
        theirs = f" ({account.display_name})" if account is not None else ""
        lines.append(printable(f"{d.pronote.display_name} → {d.login}{theirs}"))
    return lines


class BulkDecisions:
    """The step screen's A and R (a part of `StepScreen`, which gives the session, the
    state, the rows to refresh and the `_bulk` flag)."""

    session: ImportSession
    _bulk: bool
    app: Any
    state: Any
    notify: Any
    _refresh_row: Any
    _headings: Any
    _show_detail: Any

    def action_accept_all(self) -> None:
        proposals = self.session.proposals()
        if not proposals:
            self.notify(t("tui.step.accept_none"), title=t("tui.step.nothing_to_do"))
            return

        def accept() -> None:
            if not self._bulk:
                self._bulk = True
                self._accept(proposals)

        title = t("tui.step.accept_title", count=number(len(proposals)))
        lines = accept_lines(self.session, proposals)
        ask(self.app, title, lines, yes=t("tui.step.accept_yes"), no=t("tui.step.no"), then=accept)

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
        fuzzy = self.session.fuzzy_links()
        if not fuzzy:
            self.notify(t("tui.step.reject_none"), title=t("tui.step.nothing_to_do"))
            return

        def reject() -> None:
            if not self._bulk:
                self.session.decide_many(rejects=fuzzy)
                self._decided(fuzzy)
                self.notify(t("tui.step.rejected_many", count=number(len(fuzzy))))

        title = t("tui.step.reject_title", count=number(len(fuzzy)))
        lines = reject_lines(self.session, fuzzy)
        ask(self.app, title, lines, yes=t("tui.step.reject_yes"), no=t("tui.step.no"), then=reject)
