"""Opening an import session, new or resumed: the one way, for the wizard's start screen,
`idpronote apply` and `idpronote batch`, so every face refuses the same things.

The guards, in order:
- the establishment: a valid UAI, and the file's own (a file whose header names an
  invalid code, or another establishment, is refused);
- a resume: the establishment's last import, looked up now (not when the file was
  read); a damaged journal says so rather than pass for "nothing to resume";
- a new session: the directory holds accounts of the establishment (a mistyped UAI
  would otherwise offer every identifier for removal);
- the lock and the sessions in the way (cut, damaged): `ImportSession.start` and
  `ImportSession.resume`, under the establishment's lock; a resume also settles what
  was half-written and brings back the interrupted step's draft.
"""

from __future__ import annotations

from pathlib import Path

from core.directory import Directory
from core.errors import UnusableInput
from core.establishment_lock import blocking_session, resumable_session
from core.i18n import register, t
from core.journal import SessionRecord
from core.matching import MatchSettings
from core.private_files import uai_part
from core.pronote_file import IdentifiersFile
from core.text import printable
from core.wizard import ImportSession

__all__ = ["NothingToResume", "check_establishment", "open_session", "session_to_resume"]

register(
    {
        "wizard.open.invalid_uai": (
            "{file} : son code d'établissement est invalide ({value}) ; rien n'est fait, "
            "demandez un nouvel export à l'établissement",
            "{file}: its establishment code is invalid ({value}); nothing is done, ask the "
            "school for a new export",
        ),
        "wizard.open.other_uai": (
            "{file} : ce fichier est celui de l'établissement {file_uai}, pas de {uai}",
            "{file}: this file is for establishment {file_uai}, not {uai}",
        ),
        "wizard.open.no_accounts": (
            "L'annuaire n'a aucun compte rattaché à {uai} : vérifiez l'établissement.",
            "The directory has no account attached to {uai}: check the establishment.",
        ),
        "wizard.open.nothing_to_resume": (
            "aucune session interrompue à reprendre pour {uai}",
            "no interrupted session to resume for {uai}",
        ),
    }
)


class NothingToResume(UnusableInput):
    """A resume was asked and the establishment has no session to resume (each face
    words it its own way: `uai` says for which establishment)."""

    def __init__(self, uai: str) -> None:
        super().__init__(t("wizard.open.nothing_to_resume", uai=uai))
        self.uai = uai


def check_establishment(export: IdentifiersFile, uai: str) -> str:
    """`uai`, checked against the file: a valid code, and the file's own if it names one."""
    where = printable(str(export.path))
    for problem in export.problems:
        if problem.kind == "invalid_uai":
            value = problem.params["value"]
            raise UnusableInput(t("wizard.open.invalid_uai", file=where, value=value))
    uai = uai_part(uai.strip().upper())
    if export.uai and export.uai != uai:
        raise UnusableInput(
            t("wizard.open.other_uai", file=where, file_uai=printable(export.uai), uai=uai)
        )
    return uai


def session_to_resume(data_dir: Path | None, uai: str) -> tuple[Path, SessionRecord]:
    """The establishment's session to resume, read now, with the folder it is kept in;
    `NothingToResume` if none (a dry run keeps none), or the journal's damage if a
    damaged one stands in the way."""
    if data_dir is None:
        raise NothingToResume(uai)
    record = resumable_session(data_dir, uai)
    if record is None:
        blocked = blocking_session(data_dir, uai)
        if blocked is not None and blocked.damaged:
            raise UnusableInput(blocked.damage_message())
        raise NothingToResume(uai)
    return data_dir, record


def open_session(
    directory: Directory,
    export: IdentifiersFile,
    *,
    uai: str,
    mode: str,
    data_dir: Path | None,
    settings: MatchSettings | None,
    resume: bool | SessionRecord = False,
    start: bool = True,
) -> ImportSession:
    """A new session of `uai`, or its interrupted one resumed (`resume`), every guard
    applied (see the module). A new session is started (lock, journal) unless `start` is
    False: `apply` starts it itself once its mass-removal guard has passed, so that a
    refused import leaves no session behind. `data_dir` None: a dry run, nothing kept.
    `resume` True: the establishment's interrupted session, looked up now; a record: that
    session (`apply` over many files resumes the one its own run recorded).
    """
    uai = check_establishment(export, uai)
    if resume is True:
        data_dir, resume = session_to_resume(data_dir, uai)
    if isinstance(resume, SessionRecord) and data_dir is not None:
        return ImportSession.resume(directory, resume, export, data_dir=data_dir,
                                    settings=settings)  # fmt: skip
    session = ImportSession(directory, export, uai=uai, mode=mode, data_dir=data_dir,
                            settings=settings)  # fmt: skip
    if not session.reconciliation.accounts:
        raise UnusableInput(t("wizard.open.no_accounts", uai=uai))
    return session.start() if start else session
