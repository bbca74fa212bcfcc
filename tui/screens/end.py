"""The end of a session: what each step wrote, what is left, the session id for undo."""

from __future__ import annotations

import os
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Static

from core.i18n import language, number, register, t
from core.report import REMAINING_HEADER, csv_text
from core.text import printable
from core.wizard import ImportSession
from tui.localise import LocalisedScreen

register(
    {
        "tui.end.completed": ("Import terminé", "Import completed"),
        "tui.end.interrupted": ("Import interrompu", "Import interrupted"),
        "tui.end.step": (
            "{label:<28} {written:>5} écrit(s) {failed:>3} refus  {left:>5} non relié(s)",
            "{label:<28} {written:>5} written {failed:>3} refused {left:>5} unlinked",
        ),
        "tui.end.not_done": ("{label:<28} non traitée", "{label:<28} not processed"),
        "tui.end.session": (
            "Session {session} — pour l'annuler : idpronote undo {session}",
            "Session {session} — to revert it: idpronote undo {session}",
        ),
        "tui.end.export_done": (
            "{count} compte(s) non relié(s) écrit(s) dans {path}",
            "{count} unlinked account(s) written to {path}",
        ),
        "tui.end.export_failed": (
            "Impossible d'écrire {path} ({error}) : lancez idpronote depuis un dossier "
            "où vous pouvez écrire, ou utilisez idpronote history SESSION --format csv.",
            "Cannot write {path} ({error}): start idpronote from a folder you can write "
            "to, or use idpronote history SESSION --format csv.",
        ),
        "tui.end.resume": (
            "Pour reprendre : relancez idpronote avec le même fichier, puis F5 sur l'écran "
            "d'accueil.",
            "To resume: start idpronote again with the same file, then F5 on the start screen.",
        ),
        "tui.key.export": ("Exporter les non reliés", "Export unlinked"),
        "tui.key.quit_end": ("Quitter", "Quit"),
        # issue 16: nothing lost
        "tui.end.session_demo": (
            "Session {session} — pour l'annuler : idpronote undo {session} --demo",
            "Session {session} — to revert it: idpronote undo {session} --demo",
        ),
        "tui.end.resume_demo": (
            "Pour reprendre : relancez idpronote demo, puis F5 sur l'écran d'accueil "
            "(idpronote demo --reset repart de zéro).",
            "To resume: run idpronote demo again, then F5 on the start screen "
            "(idpronote demo --reset starts afresh).",
        ),
    }
)


class EndScreen(LocalisedScreen[None]):
    BINDINGS = [
        Binding("e", "export", t("tui.key.export"), id="end.export"),
        Binding("f4", "imported", t("tui.key.imported"), id="end.imported"),
        Binding("q", "app.quit", t("tui.key.quit_end"), id="end.quit"),
    ]

    def __init__(self, session: ImportSession) -> None:
        super().__init__()
        self.session = session

    def compose(self) -> ComposeResult:
        s = self.session
        title = t("tui.end.completed" if s.ended == "completed" else "tui.end.interrupted")
        lines = []
        # From the journal: a step validated before a resume counts as much as one after.
        counts = s.step_counts()
        for category in s.steps:
            label = f"{category.step}. {category.label(language())}"
            done = counts.get(category.slug)
            if done is None:
                lines.append(t("tui.end.not_done", label=label))
                continue
            lines.append(
                t(
                    "tui.end.step",
                    label=label,
                    written=number(done["written"]),
                    failed=number(done["failed"]),
                    left=number(done["left"]),
                )
            )
        yield Header()
        with VerticalScroll(id="end"):
            yield Static(title, classes="title")
            yield Static("\n".join(lines), markup=False)
            if s.session:
                yield Static("")
                demo = getattr(self.app.launch, "demo", False)
                session_key = "tui.end.session_demo" if demo else "tui.end.session"
                yield Static(t(session_key, session=s.session), markup=False)
                if s.ended == "interrupted":
                    resume = "tui.end.resume_demo" if demo else "tui.end.resume"
                    yield Static(t(resume), markup=False)
        yield Footer()

    def action_export(self) -> None:
        """The unlinked accounts as CSV for the school, beside the identifiers file.

        That is where the admin already looks (and, for the demo, inside its
        copy under the data directory); if that directory is read-only, where idpronote was
        started.
        """
        rows = []
        for category, d in self.session.remaining():
            p = d.pronote
            rows.append([
                category.step, category.slug, p.idpn, p.surname, p.first_name,
                p.birth_date.isoformat() if p.birth_date else "", p.class_name or "", d.rule,
                d.explain(), " ".join(d.candidates),
            ])  # fmt: skip
        name = f"non-relies-{self.session.uai}-{self.session.session or 'demo'}.csv"
        text = csv_text(REMAINING_HEADER, rows)
        places = [self.session.export.path.resolve().parent, Path.cwd()]
        error: OSError | None = None
        for place in dict.fromkeys(places):
            path = place / name
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                    handle.write(text)
            except OSError as failure:
                error = failure
                continue
            self.notify(
                t("tui.end.export_done", path=printable(str(path)), count=len(rows)), timeout=10
            )
            return
        self.notify(
            t("tui.end.export_failed", path=printable(str(places[0] / name)), error=error),
            severity="error",
            timeout=12,
        )

    def action_imported(self) -> None:
        from tui.screens.imported import ImportedScreen

        self.app.push_screen(
            ImportedScreen(
                self.session.directory, uai=self.session.uai, data_dir=self.session.data_dir
            )
        )
