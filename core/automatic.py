"""What `apply` does with an import session: validate what is recognised automatically.

One path for the headless imports: `idpronote apply` runs it on one file,
`idpronote batch` on each establishment's file. The session is opened here
(a new one, or the establishment's interrupted or cut one resumed), under
the establishment's lock the session's own start takes, and walked step by
step: each chosen step validated with only the automatic decisions, the
others skipped. Nothing here knows about a terminal or an output format.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from core.errors import UnusableInput
from core.i18n import language, register, t
from core.matching import StepMatch
from core.model import Category, ChangeOutcome
from core.report import StepWrites, session_writes
from core.wizard import ImportSession

__all__ = ["AutomaticRun", "mass_removals", "run_automatic"]

register(
    {
        "apply.mass_removal": (
            "étape {step} ({category}) : {removed} des {stored} identifiants stockés pour "
            "{uai} seraient supprimés, plus de la moitié ; un mauvais fichier plutôt qu'une "
            "nouvelle année ? Rien n'est écrit ; vérifiez le fichier, ou relancez avec "
            "--allow-mass-removal",
            "step {step} ({category}): {removed} of the {stored} identifiers stored for {uai} "
            "would be removed, more than half; a wrong file rather than a new year? Nothing "
            "written; check the file, or run again with --allow-mass-removal",
        ),
    }
)


@dataclass
class AutomaticRun:
    """What one headless import did, step by step."""

    session: ImportSession
    steps: list[StepMatch] = field(default_factory=list)
    writes: list[StepWrites] = field(default_factory=list)
    failures: list[ChangeOutcome] = field(default_factory=list)
    planned: dict[Category, int] = field(default_factory=dict)  # dry run: changes per step
    guard: list[str] = field(default_factory=list)  # steps that would remove over half


def run_automatic(
    session: ImportSession,
    chosen: Sequence[Category],
    *,
    dry: bool = False,
    resumed: bool = False,
    allow_mass_removal: bool = False,
    on_start: Callable[[ImportSession], None] | None = None,
) -> AutomaticRun:
    """Validate the chosen steps with only the automatic decisions; skip the others.

    A new session is started here (its lock, its journal), after the
    mass-removal guard: a refused import leaves no session behind. The
    caller closes the session (`with session:`). `on_start` is told the
    session once its journal exists (batch records its id at once).
    """
    run = AutomaticRun(session)
    # Before the journal is opened: a refused import leaves no session behind.
    run.guard = mass_removals(session, chosen)
    if run.guard and not dry and not allow_mass_removal:
        raise UnusableInput(run.guard[0])
    if not resumed:
        session.start()
    if on_start is not None:
        on_start(session)
    while not session.finished:
        state = session.current
        processed = state.category in chosen
        if dry and processed:
            run.planned[state.category] = len(session.plan(state).changes)
            run.writes.append(session_writes(session, state, processed=True))
        if dry or not processed:
            if not dry:
                run.writes.append(session_writes(session, state, processed=False))
            session.skip()
        else:
            outcomes = session.validate()
            run.failures += [o for o in outcomes if not o.applied]
            run.writes.append(session_writes(session, state, processed=True))
        run.steps.append(state.match)
    return run


def mass_removals(session: ImportSession, chosen: Sequence[Category]) -> list[str]:
    """One line per step left to validate that would remove over half its category's links.

    Checked before anything is written: a wrong file must not empty the
    students before the guardians' step notices it.
    """
    lines = []
    for category in session.steps[session.index :]:
        if category not in chosen:
            continue
        found = session.mass_removal(category)
        if found is not None:
            removed, stored = found
            lines.append(
                t(
                    "apply.mass_removal",
                    step=category.step,
                    category=category.label(language()),
                    removed=removed,
                    stored=stored,
                    uai=session.uai,
                )
            )
    return lines
