"""Why matching decided what it did, in words (French, English).

A `Decision` carries its reason as a code and parameters (`Decision.why`,
`Decision.params`): the JSON and CSV reports keep the code, and the text is
looked up under "why." when it is shown. Registered on import into
`core.i18n`'s catalogue; `decisions.py` imports this module, so every user of
a decision has the words.
"""

from core.i18n import register

# key: (français, English). Placeholders use str.format names.
REASONS: dict[str, tuple[str, str]] = {
    "why.already_linked": (
        "l'annuaire porte déjà cet identifiant pour l'établissement",
        "the directory already stores this identifier for the establishment",
    ),
    "why.cas_login": (
        "l'identifiant CAS du fichier est ce compte, et les noms concordent",
        "the file's CAS login is this account, and the names agree",
    ),
    "why.remembered": (
        "lien fait à la main lors d'un import précédent",
        "linked by hand in an earlier import",
    ),
    "why.exact": (
        "mêmes nom, prénom et date de naissance, uniques des deux côtés",
        "same surname, first name and birth date, unique on both sides",
    ),
    "why.exact_name": (
        "mêmes nom et prénom, uniques des deux côtés (pas de date de naissance d'un côté)",
        "same surname and first name, unique on both sides (no birth date on one side)",
    ),
    "why.guardian_children": (
        "mêmes nom et prénom, et rattaché dans l'annuaire à un enfant reconnu",
        "same names, and linked in the directory to a recognised child",
    ),
    "why.fuzzy": (
        "noms très proches (un champ identique, l'autre à une faute près), même date, "
        "sans concurrent",
        "very close names (one field equal, the other one typo away), same date, no rival",
    ),
    "why.married_name": (
        "même prénom, seul responsable de ce prénom rattaché à l'enfant reconnu "
        "(nom d'usage différent)",
        "same first name, the only guardian of that name linked to the recognised child "
        "(another surname in use)",
    ),
    "why.stored_twice": (
        "cet identifiant est déjà porté par plusieurs comptes : {accounts}",
        "this identifier is already stored on several accounts: {accounts}",
    ),
    "why.stored_on_another_person": (
        "identifiant enregistré sur le compte d'une autre personne : {holder} ({name}) ; "
        "un humain décide",
        "identifier stored on the account of another person: {holder} ({name}); a human decides",
    ),
    "why.stored_better_fit": (
        "l'identifiant est enregistré sur {holder}, mais {better} correspond mieux "
        "(mêmes nom, prénom et date) : un humain choisit",
        "the identifier is stored on {holder}, but {better} fits better (same names and "
        "date): a human chooses",
    ),
    "why.cas_better_fit": (
        "l'identifiant CAS désigne {holder}, mais {better} correspond mieux (mêmes nom, "
        "prénom et date) : un humain choisit",
        "the CAS login names {holder}, but {better} fits better (same names and date): "
        "a human chooses",
    ),
    "why.remembered_owner_changed": (
        "lien fait à la main vers {login}, mais ce compte a changé de titulaire depuis "
        "(aujourd'hui {name}) : à relier à nouveau",
        "linked by hand to {login}, but that account changed owner since (now {name}): "
        "link it again",
    ),
    "why.remembered_names_disagree": (
        "lien fait à la main vers {login} ({name}) : noms discordants, titulaire d'alors "
        "inconnu ; à relier à nouveau",
        "linked by hand to {login} ({name}), whose names do not agree and whose owner at "
        "the time is unknown: link it again",
    ),
    "why.guardian_name": (
        "fichier partiel : seul responsable de ces noms dans le fichier et l'annuaire ; "
        "pas encore d'identifiant, enfants de l'établissement déjà connectés",
        "partial file: the only guardian of these names in the file and the directory; "
        "no identifier yet, children of the establishment signed in already",
    ),
    "why.stored_elsewhere": (
        "l'identifiant est porté par {holder} mais l'identifiant CAS désigne {cas}",
        "the identifier is stored on {holder} but the CAS login names {cas}",
    ),
    "why.cas_names_disagree": (
        "l'identifiant CAS désigne {login} ({name}), dont les noms ne concordent pas",
        "the CAS login names {login} ({name}), whose names do not agree",
    ),
    "why.account_taken": (
        "le compte {login} porte déjà un autre identifiant de l'établissement ({stored})",
        "account {login} already stores another identifier of the establishment ({stored})",
    ),
    "why.same_names_dates": (
        "plusieurs comptes ont les mêmes nom, prénom et date de naissance",
        "several accounts have the same surname, first name and birth date",
    ),
    "why.same_names": (
        "plusieurs comptes ont les mêmes nom et prénom, sans date pour les départager",
        "several accounts have the same names and no date to tell them apart",
    ),
    "why.same_names_children": (
        "plusieurs responsables de mêmes noms sont rattachés aux enfants",
        "several guardians of the same names are linked to the children",
    ),
    "why.twice_in_file": (
        "une autre fiche Pronote désigne le même compte (doublon dans Pronote ?)",
        "another Pronote record points at the same account (a duplicate in Pronote?)",
    ),
    "why.already_claimed": (
        "le compte le plus proche est déjà relié à une autre fiche de cette étape",
        "the closest account is already linked to another record of this step",
    ),
    "why.near_date": (
        "un autre compte de nom proche a une date de naissance à une faute près",
        "another account with a close name has a birth date one typo away",
    ),
    "why.close_candidates": (
        "plusieurs comptes proches, aucun ne se détache nettement",
        "several close accounts, none clearly ahead",
    ),
    "why.lost_letters": (
        "le nom a des lettres illisibles dans le fichier : à relier à la main",
        "the name has unreadable letters in the file: link it by hand",
    ),
    "why.date_differs": (
        "mêmes noms, mais dates de naissance différentes",
        "same names, but different birth dates",
    ),
    "why.no_child": (
        "un responsable de mêmes noms existe, mais aucun de ses enfants n'a été reconnu "
        "pour le confirmer",
        "a guardian of the same names exists, but none of their children was recognised "
        "to confirm it",
    ),
    "why.uncertain": (
        "des comptes ressemblants, aucun certain",
        "similar accounts, none certain",
    ),
    "why.no_candidate": (
        "aucun compte de l'établissement ne ressemble",
        "no account of the establishment looks like it",
    ),
    "why.conflict": ("conflit", "conflict"),
    "why.ambiguous": ("ambigu", "ambiguous"),
    "why.duplicate_in_file": ("doublon dans le fichier", "duplicate in the file"),
}

register(REASONS)
