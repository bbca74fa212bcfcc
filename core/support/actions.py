"""The one next action explain proposes, and applying it.

Only `link` and `unlink` write, through `core.wizard.link_account` /
`unlink_account` (locked, journaled, undoable); the other kinds say what a
human does next.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.directory import Directory
from core.errors import IdpronoteError
from core.i18n import register, t
from core.model import ChangeOutcome
from core.wizard import link_account, unlink_account

# The kinds of next action. Only "link" and "unlink" write.
ACTION_KINDS = ("link", "unlink", "export_again", "check_cas_release", "pick", "none")
WRITING = ("link", "unlink")

register(
    {
        # -- actions -----------------------------------------------------------------------
        "support.action.link": (
            "Relier {login} à l'identifiant {idpn} ({uai})",
            "Link {login} to identifier {idpn} ({uai})",
        ),
        "support.action.replace": (
            "Relier {login} à l'identifiant {idpn} ({uai}), à la place de {previous}",
            "Link {login} to identifier {idpn} ({uai}), replacing {previous}",
        ),
        "support.action.unlink": (
            "Retirer l'identifiant {idpn} du compte {login} ({uai})",
            "Remove identifier {idpn} from account {login} ({uai})",
        ),
        "support.action.export_again": (
            "Demander à l'établissement de vérifier la fiche dans Pronote, puis un nouvel "
            "export des identifiants",
            "Ask the school to check the record in Pronote, then to export the identifiers again",
        ),
        "support.action.export_again_file": (
            "Demander à l'établissement l'export des identifiants Pronote, puis relancer "
            "avec --file",
            "Ask the school for the Pronote identifiers export, then run again with --file",
        ),
        "support.action.export_again_merge": (
            "Demander à l'établissement de fusionner les doublons Pronote ({idpns}), puis un "
            "nouvel export des identifiants",
            "Ask the school to merge the duplicate Pronote accounts ({idpns}), then to "
            "export the identifiers again",
        ),
        "support.action.check_cas_release": (
            "Côté CAS : vérifier que le service Pronote reçoit l'attribut idPronote "
            "({value}) pour {login} (règle de diffusion des attributs, nom exact, "
            "valeur de cet établissement)",
            "On the CAS side: check that the Pronote service receives the idPronote "
            "attribute ({value}) for {login} (attribute release rule, exact name, this "
            "establishment's value)",
        ),
        "support.action.pick": (
            "Comparer {accounts} (classes, date de naissance, responsables) et choisir à la "
            "main : aucun lien automatique (puis idpronote link COMPTE IDENTIFIANT --uai "
            "UAI)",
            "Compare {accounts} (classes, birth date, guardians) and choose by hand: no "
            "automatic link (then idpronote link ACCOUNT IDENTIFIER --uai UAI)",
        ),
        "support.action.pick_list": (
            "Choisir un compte : {accounts}",
            "Pick an account: {accounts}",
        ),
        "support.action.none": ("Rien à faire dans idpronote", "Nothing to do in idpronote"),
        "support.refused_pick": (
            "cette action ne s'applique pas seule : un humain doit choisir",
            "this action cannot be applied on its own: a human must choose",
        ),
        "support.no_file_for_link": (
            "aucun fichier d'identifiants connu : impossible de vérifier ce lien",
            "no identifiers file known: this link cannot be checked",
        ),
    }
)


@dataclass(frozen=True)
class Action:
    """The one next action. `link` and `unlink` write; the others say what a human does.

    `candidates` are the directory logins to compare (pick), `idpns` the Pronote
    identifiers concerned (pick, export_again), `previous` the stale identifier a
    link replaces, `value` the attribute value CAS must release.
    """

    kind: str
    uai: str | None = None
    login: str | None = None
    idpn: str | None = None
    previous: str | None = None
    candidates: tuple[str, ...] = ()
    idpns: tuple[str, ...] = ()
    value: str | None = None
    detail: str = ""  # "file" or "merge" for export_again

    def __post_init__(self) -> None:
        if self.kind not in ACTION_KINDS:
            raise ValueError(f"unknown action {self.kind!r}")

    @property
    def writes(self) -> bool:
        return self.kind in WRITING

    def describe(self) -> str:
        """The action in plain words, in the current language."""
        if self.kind == "link" and self.previous:
            return t(
                "support.action.replace",
                login=self.login,
                idpn=self.idpn,
                uai=self.uai,
                previous=self.previous,
            )
        if self.kind == "export_again" and self.detail:
            return t(f"support.action.export_again_{self.detail}", idpns=", ".join(self.idpns))
        if self.kind == "pick":
            key = "support.action.pick" if self.idpns else "support.action.pick_list"
            return t(key, accounts=", ".join(self.candidates))
        return t(
            f"support.action.{self.kind}",
            login=self.login,
            idpn=self.idpn,
            uai=self.uai,
            value=self.value,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "uai": self.uai,
            "login": self.login,
            "idpn": self.idpn,
            "previous": self.previous,
            "candidates": list(self.candidates),
            "idpns": list(self.idpns),
            "text": self.describe(),
        }


def apply_action(
    directory: Directory,
    action: Action,
    *,
    data_dir: Path | None,
    in_file: Iterable[str] | None = None,
    mode: str = "complet",
) -> ChangeOutcome:
    """Write a `link` or `unlink` action, locked and journaled like every write.

    An unlinked identifier that was remembered as a manual link to that account
    is forgotten too: otherwise the next import would put it back (`remembered`).
    `LinkRefused` (an IdpronoteError) says why a link breaks a rule; any other
    kind of action writes nothing and is refused.
    """
    if not action.writes or not (action.uai and action.login and action.idpn):
        raise IdpronoteError(t("support.refused_pick"))
    if action.kind == "link":
        if in_file is None and action.previous:
            raise IdpronoteError(t("support.no_file_for_link"))
        return link_account(
            directory,
            action.uai,
            action.login,
            action.idpn,
            data_dir=data_dir,
            in_file=in_file,
            mode=mode,
        )
    # unlink_account also forgets a remembered manual link, so the next import keeps it undone.
    return unlink_account(directory, action.uai, action.login, action.idpn, data_dir=data_dir)
