"""`idpronote batch DIR | --manifest FILE`: `apply` for every establishment, one report."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli import words as _words  # noqa: F401  (registers the words)
from core.batch import BatchSettings, run_batch
from core.batch_input import entries_in, read_manifest
from core.batch_record import COUNT_KEYS, OUTCOMES, BatchState, EstablishmentResult
from core.errors import UnusableInput
from core.i18n import t
from core.report import csv_text
from core.text import json_dumps, printable

if TYPE_CHECKING:
    from cli.context import Context

CSV_HEADER = [
    "uai", "etablissement", "fichier", "resultat", "reconnus", "pour_un_humain", "ecrits",
    "refuses", "retires", "session", "reprise", "erreurs",
]  # fmt: skip
_BAR = 24


def run(ctx: Context) -> int:
    """Exit 0: every establishment done, nothing left; 1: some left for a human or failed."""
    fmt = ctx.require_format("text", "json", "csv")
    args = ctx.args
    if bool(args.folder) == bool(args.manifest):
        raise UnusableInput(t("batch.one_input"))
    if args.jobs < 1:
        raise UnusableInput(t("batch.bad_jobs", jobs=args.jobs))
    if args.manifest:
        source, kind = str(Path(args.manifest).resolve()), "manifest"
        entries = read_manifest(Path(args.manifest))
    else:
        source, kind = str(Path(args.folder).resolve()), "folder"
        entries = entries_in(Path(args.folder))
    data_dir = ctx.config.data_dir
    if args.resume:
        state = BatchState.latest(data_dir, source=source, kind=kind)
        if state is None or not state.unfinished(entries):
            raise UnusableInput(t("batch.nothing_to_resume", source=source))
        mode = state.header.get("mode") or "complet"
    else:
        mode = args.mode or "complet"
    opener = _opener(ctx)  # the bind password, asked (at most) once, before any import
    schema = ctx.config.file_schema
    if schema.partner.prompt is not None:
        from dataclasses import replace

        schema = replace(
            schema, partner=replace(schema.partner, prompt=_once(schema.partner.prompt))
        )
    if args.resume:
        state.resumed()
    else:
        state = BatchState.create(data_dir, source=source, kind=kind, mode=mode)
    settings = BatchSettings(
        mode=mode,
        data_dir=data_dir,
        file_schema=schema,
        matching=ctx.config.matching,
        jobs=args.jobs,
        allow_mass_removal=args.allow_mass_removal,
        internal_error=_logged,
    )
    progress = _Progress(sys.stderr)
    results = run_batch(entries, opener, settings, state, progress=progress.show)
    progress.finish()
    report = as_json(state, source, mode, args.jobs, bool(args.resume), results)
    if fmt == "json":
        ctx.emit(json_dumps(report))
    elif fmt == "csv":
        ctx.emit(as_csv(results))
    else:
        ctx.emit(as_text(report, results))
    return 0 if all(r.outcome == "completed" for r in results) else 1


def _opener(ctx: Context):
    """A new directory adapter for each establishment; LDAP credentials read once."""
    from directory_adapters import open_directory

    config, directory_file = ctx.config, ctx.args.directory_file
    credentials = None
    if directory_file is None and config.directory.kind == "ldap":
        from directory_adapters.credentials import bind_credentials, needs_prompt

        if needs_prompt(config.directory.ldap):
            # Asked here, once: not by each establishment's connection, nor by two at once.
            credentials = bind_credentials(config.directory.ldap)

    def opener() -> Any:
        return open_directory(config, directory_file, credentials=credentials)

    return opener


def _once(prompt):
    """The partner key's passphrase asked once for the whole batch (jobs share it)."""
    lock = threading.Lock()
    given: list[str] = []

    def ask(text: str) -> str:
        with lock:
            if not given:
                given.append(prompt(text))
            return given[0]

    return ask


def _logged(error: BaseException) -> str:
    from core.internal_log import log_internal_error

    return t("cli.internal_error", error=type(error).__name__, log=log_internal_error(error))


class _Progress:
    """One line per establishment on stderr; on a terminal, a bar under them."""

    def __init__(self, stream) -> None:
        self.stream = stream
        try:
            self.tty = stream.isatty()
        except (AttributeError, ValueError):
            self.tty = False
        self.bar_shown = False

    def show(self, result: EstablishmentResult, count: int, total: int) -> None:
        from cli.context import say

        self._clear()
        say(progress_line(result, count, total), self.stream)
        if self.tty:
            filled = round(_BAR * count / total) if total else _BAR
            # Our own characters only (digits, '#', '.'): nothing from a file.
            self.stream.write(f"\r[{'#' * filled}{'.' * (_BAR - filled)}] {count}/{total}")
            self.stream.flush()
            self.bar_shown = True

    def _clear(self) -> None:
        if self.bar_shown:
            self.stream.write("\r" + " " * (_BAR + 16) + "\r")
            self.bar_shown = False

    def finish(self) -> None:
        self._clear()
        self.stream.flush()


def _label(result: EstablishmentResult) -> str:
    return printable(result.uai or Path(result.file).name)


def progress_line(result: EstablishmentResult, count: int, total: int) -> str:
    width = len(str(total))
    head = f"[{count:>{width}}/{total}] {_label(result)}"
    if result.outcome == "failed":
        reason = printable(result.errors[0]) if result.errors else ""
        return f"{head} " + t("batch.failed_line", reason=reason)
    c = result.counts
    return f"{head} " + t(
        "batch.progress",
        outcome=t(f"batch.outcome.{result.outcome}"),
        recognised=c["recognised"],
        left=c["left_for_human"],
        written=c["written"],
        refused=c["refused"],
        removed=c["removed"],
        session=result.session or "—",
        seconds=f"{result.seconds:.1f}",
    )


def as_json(
    state: BatchState,
    source: str,
    mode: str,
    jobs: int,
    resumed: bool,
    results: list[EstablishmentResult],
) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "establishments": len(results),
        "outcomes": {o: sum(1 for r in results if r.outcome == o) for o in OUTCOMES},
        "counts": {k: sum(r.counts.get(k, 0) for r in results) for k in COUNT_KEYS},
    }
    return {
        "batch": state.batch,
        "source": source,
        "mode": mode,
        "jobs": jobs,
        "resumed": resumed,
        "establishments": [r.as_json() for r in results],
        "summary": summary,
    }


def as_csv(results: list[EstablishmentResult]) -> str:
    rows = [
        [
            r.uai or "", r.etablissement or "", r.file, r.outcome,
            *(r.counts.get(k, 0) for k in COUNT_KEYS),
            r.session or "", "oui" if r.resumed else "", " | ".join(r.errors),
        ]
        for r in results
    ]  # fmt: skip
    return csv_text(CSV_HEADER, rows)


def as_text(report: dict[str, Any], results: list[EstablishmentResult]) -> str:
    s = report["summary"]
    outcomes, counts = s["outcomes"], s["counts"]
    lines = [
        t("batch.heading", count=s["establishments"], mode=report["mode"], batch=report["batch"]),
        "",
        f"  {'UAI':<9}{t('batch.col_name'):<24}{t('batch.col_recognised'):>8}"
        f"{t('batch.col_left'):>8}{t('batch.col_written'):>8}{t('batch.col_refused'):>8}"
        f"{t('batch.col_removed'):>8}",
    ]
    for r in results:
        c = r.counts
        name = printable(r.etablissement or Path(r.file).name)[:23]
        lines.append(
            f"  {printable(r.uai or '?'):<9}{name:<24}{c['recognised']:>8}"
            f"{c['left_for_human']:>8}{c['written']:>8}{c['refused']:>8}{c['removed']:>8}"
        )
        outcome = t(f"batch.outcome.{r.outcome}")
        if r.earlier:
            outcome += f" ({t('batch.earlier')})"
        elif r.resumed:
            outcome += f" ({t('batch.resumed')})"
        if r.session:
            outcome += " · " + t("batch.session", session=r.session)
        lines.append(f"  {'':<9}{outcome}")
        for error in r.errors[:5]:
            lines.append(f"  {'':<9}! {printable(error)}")
        if len(r.errors) > 5:
            lines.append(f"  {'':<9}! " + t("batch.more_errors", count=len(r.errors) - 5))
    lines.append("")
    lines.append(
        t(
            "batch.total",
            completed=outcomes["completed"],
            left=outcomes["left_for_human"],
            failed=outcomes["failed"],
            written=counts["written"],
            removed=counts["removed"],
        )
    )
    if outcomes["failed"]:
        lines.append(t("batch.resume_hint"))
    lines.append(t("batch.undo_hint"))
    return "\n".join(lines)
