"""The records and accounts drawn from the people, and what each hard case changes
in them (the faults of DOMAIN.md), with the optional cases (wrong links, partial file)."""

from __future__ import annotations

import random
import re
from datetime import date

from bench.generator.names import (
    _SURNAME,
    IDPN_ALPHABET,
    _dmy,
    _iso,
    _key,
    fold,
    lose_letters,
    mojibake,
)
from bench.generator.people import (
    ALL_LABELS,
    CATEGORIES,
    EXTRA_LABELS,
    PROFILES,
    _Account,
    _Human,
    _Record,
)
from bench.generator.population import _Population


class _Establishment(_Population):
    """The people, then (`render()`) their records, accounts and hard cases."""

    # rendering: records, then accounts, then what each case changes
    def render(self) -> None:
        rng = self.rng
        for slug in CATEGORIES:
            for human in self.humans[slug]:
                human.records.append(self.record(human))
                if human.case == "duplicate_in_pronote":
                    human.records.append(self.record(human))
        if self.timetable:
            # Seen in real exports: DateNaissance="" for a few students.
            for human in self.humans["eleves"]:
                if rng.random() < 0.02:
                    for record in human.records:
                        record.birth_text = None
        for slug in CATEGORIES:
            for human in self.humans[slug]:
                if human.case != "not_in_directory":
                    human.account = self.account(human)
                self.apply_case(human)
        for human in self.departed:
            human.account = self.account(human)
            if human.category == "eleves":
                human.account.classes = [f"3{rng.choice(self.letters)}"]
            if "stale_identifier" in human.labels:
                human.account.ids = [f"{self.uai}${self.idpn()}"]
        # The ENT made its logins from its own spelling of the names.
        everyone = [h for slug in CATEGORIES for h in self.humans[slug]] + self.departed
        for human in everyone:
            if human.account is not None:
                human.account.login = self.login(human.account)
        for human in self.humans["responsables"] + self.departed:
            if human.account is not None and human.children:
                human.account.eleves = [c.account.login for c in human.children if c.account]
        self.link_guardians()
        self.plain_links()
        if self.wrong_links:
            self.add_wrong_links()
        if self.mode == "partiel":
            self.partial()
        self.derived_labels()

    def add_wrong_links(self) -> None:
        """A past import stored some people's identifiers on another person's account."""
        rng = random.Random(f"datagen-wrong-links-{self.seed}")
        for slug in ("eleves", "responsables", "enseignants"):
            plain = [
                h
                for h in self.humans[slug]
                if h.case is None
                and h.account is not None
                and not h.account.ids
                and len(h.records) == 1
                and not {"cas_login", "already_linked"} & set(h.records[0].labels)
            ]
            count = max(1, round(0.01 * len(self.humans[slug])))
            chosen = rng.sample(plain, min(len(plain), 2 * count))
            for person, holder in zip(chosen[0::2], chosen[1::2], strict=False):
                if _key(person.surname, person.first_name) == _key(
                    holder.surname, holder.first_name
                ):
                    continue  # namesakes: not the case meant here
                assert holder.account is not None
                holder.account.ids = [f"{self.uai}${person.records[0].idpn}"]
                person.records[0].labels.append("wrong_existing_link")
                holder.records[0].labels.append("wrong_link_holder")
                person.case = holder.case = "wrong_link"

    def partial(self) -> None:
        """Who signed in through the ENT is not in a partial file; their account stores it."""
        rng = random.Random(f"datagen-partiel-{self.seed}")
        rates = {"eleves": 0.5, "responsables": 0.45, "enseignants": 0.6}
        own = f"{self.uai}$"
        for human in self.departed:
            if human.account is not None:
                human.account.ids = [v for v in human.account.ids if not v.startswith(own)]
            human.labels = [x for x in human.labels if x != "stale_identifier"]
        for slug in CATEGORIES:
            for human in self.humans[slug]:
                if human.account is None or not human.records:
                    continue
                labels = set(human.records[0].labels)
                if "wrong_link_holder" in labels or human.case == "duplicate_in_pronote":
                    continue  # cannot have signed in to their own Pronote account
                signed = "wrong_existing_link" in labels or rng.random() < rates.get(slug, 0.4)
                if not signed:
                    if "stale_identifier" in labels:
                        # The September complete import replaced it: linked, not signed in.
                        kept = [v for v in human.account.ids if not v.startswith(own)]
                        human.account.ids = [*kept, f"{own}{human.records[0].idpn}"]
                        for record in human.records:
                            record.labels = [
                                "already_linked" if x == "stale_identifier" else x
                                for x in record.labels
                            ]
                    continue
                if "wrong_existing_link" not in labels:
                    kept = [v for v in human.account.ids if not v.startswith(own)]
                    human.account.ids = [*kept, f"{own}{human.records[0].idpn}"]
                human.records = []
        in_file = {id(r) for slug in CATEGORIES for h in self.humans[slug] for r in h.records}
        for human in self.humans["eleves"]:
            for record in human.records:
                record.guardians = [g for g in record.guardians if id(g) in in_file]
        pointed = {id(g) for h in self.humans["eleves"] for r in h.records for g in r.guardians}
        for human in self.humans["responsables"]:
            if human.children and not any(id(r) in pointed for r in human.records):
                for record in human.records:
                    record.labels.append("children_absent")

    def record(self, human: _Human) -> _Record:
        record = _Record(human, self.ident(), self.idpn(), human.surname, human.first_name)
        if human.birth is not None and human.category in ("eleves", "enseignants", "personnels"):
            record.iso = self.rng.random() < 0.2
            record.birth_text = (_iso if record.iso else _dmy)(human.birth)
        return record

    def account(self, human: _Human) -> _Account:
        rng = self.rng
        keep_birth = {"eleves": 1.0, "enseignants": 0.95, "personnels": 0.8, "responsables": 0.3}
        birth = human.birth
        if birth is None and human.category == "responsables":
            birth = self.birth(30, 58)
        if rng.random() >= keep_birth.get(human.category, 0.0):
            birth = None
        account = _Account(
            login="",
            nom=human.surname,
            prenom=human.first_name,
            birth=birth,
            iso=rng.random() < 0.9,
            profile=human.profile or PROFILES[human.category],
            uais=[self.uai],
        )
        if human.category == "eleves" and human.class_name:
            account.classes = [human.class_name]
        elif human.category == "enseignants":
            account.classes = sorted(rng.sample(self.classes, min(len(self.classes), 5)))[
                : rng.randint(2, 5)
            ]
        return account

    def apply_case(self, human: _Human) -> None:
        rng = self.rng
        case, account, records = human.case, human.account, human.records
        for record in records:
            record.labels += [x for x in human.labels if x in EXTRA_LABELS]
        if case is None:
            return
        for record in records:
            record.labels.append(case)
        if case == "mojibake":
            for record in records:
                record.nom, record.prenom = mojibake(record.nom), mojibake(record.prenom)
        elif case == "lost_letter":
            for record in records:
                record.nom, record.prenom = lose_letters(record.nom), lose_letters(record.prenom)
        if account is None:
            return
        if case == "accents_dropped":
            account.nom, account.prenom = fold(account.nom), fold(account.prenom)
        elif case == "typo":
            if rng.random() < 0.5:
                account.nom = _typo(rng, account.nom)
            else:
                account.prenom = _typo(rng, account.prenom)
        elif case == "compound_name":
            first = re.split(r"[- ]", human.surname)[0]
            if human.variant == "space":
                account.nom = human.surname.replace("-", " ")
            elif human.variant == "first_only":
                account.nom = first
            else:
                for record in records:
                    record.nom = first
        elif case == "married_name":
            other = human.family_surname
            while other == human.surname:
                other = _SURNAME.pick(rng)
            account.nom = other
        elif case == "date_typo":
            account.birth = _date_typo(rng, human.birth) if human.birth else None
            if account.birth is None:
                account.birth = self.birth(23, 64)
        elif case == "swapped_day_month":
            assert human.birth is not None
            account.birth = human.birth.replace(day=human.birth.month, month=human.birth.day)
        elif case == "stale_identifier":
            account.ids = [f"{self.uai}${self.idpn()}"]
        elif case == "two_establishments":
            other = self.other_uai()
            account.uais = rng.sample([self.uai, other], 2)
            account.ids = [f"{other}${''.join(rng.choices(IDPN_ALPHABET, k=16))}"]
        elif case == "duplicate_in_pronote" and rng.random() < 0.5:
            # The first duplicate got the link: the person cannot sign in with the second.
            account.ids = [f"{self.uai}${records[0].idpn}"]
            records[0].labels.append("already_linked")

    def link_guardians(self) -> None:
        """Students point at their guardians' records; a sibling may use a duplicate."""
        for child in self.humans["eleves"]:
            for record in child.records:
                for guardian in child.guardians:
                    pick = guardian.records[0]
                    siblings = guardian.children
                    if len(guardian.records) > 1 and len(siblings) > 1 and child is siblings[-1]:
                        pick = guardian.records[1]
                    record.guardians.append(pick)

    def plain_links(self) -> None:
        rng = self.rng
        cas_rates = {"eleves": 0.3, "enseignants": 0.3, "personnels": 0.3, "responsables": 0.15}
        for slug in CATEGORIES:
            for human in self.humans[slug]:
                if human.case is not None or human.account is None:
                    continue
                record = human.records[0]
                if rng.random() < cas_rates.get(slug, 0.0):
                    record.cas_login = human.account.login
                    record.labels.append("cas_login")
                if rng.random() < 0.2:
                    human.account.ids = [f"{self.uai}${record.idpn}"]
                    record.labels.append("already_linked")

    def derived_labels(self) -> None:
        for slug in CATEGORIES:
            people = self.humans[slug] + [h for h in self.departed if h.category == slug]
            groups: dict[tuple[str, str], list[_Human]] = {}
            for human in people:
                groups.setdefault(_key(human.surname, human.first_name), []).append(human)
            for group in groups.values():
                for human in group:
                    others = [o for o in group if o is not human]
                    if not others:
                        continue
                    same_date = human.birth is not None and any(
                        o.birth == human.birth for o in others
                    )
                    label = "same_name_same_date" if same_date else "homonym"
                    if human.in_file:
                        for record in human.records:
                            record.labels.append(label)
                    else:
                        human.labels.append(label)
            for human in self.humans[slug]:
                for record in human.records:
                    if human.account is None:
                        record.labels.append("not_in_directory")
                    birth = human.account.birth if human.account else None
                    if record.birth_text and birth and record.iso != human.account.iso:
                        record.labels.append("date_format")
                    record.labels = [x for x in ALL_LABELS if x in record.labels]
        for human in self.departed:
            human.labels = [x for x in ALL_LABELS if x in human.labels]


def _typo(rng: random.Random, name: str) -> str:
    """One letter changed, dropped or doubled (never the first one, never an accent)."""
    positions = [i for i, c in enumerate(name) if i > 0 and c.isascii() and c.isalpha()]
    i = rng.choice(positions)
    letter = name[i]
    operation = rng.choice(("substitute", "drop", "double"))
    if operation == "drop" and len(name) > 3:
        return name[:i] + name[i + 1 :]
    if operation == "double":
        return name[:i] + letter + name[i:]
    pool = "aeiou" if letter.lower() in "aeiouy" else "bcdfglmnprstvz"
    new = rng.choice([c for c in pool if c != letter.lower()])
    return name[:i] + (new.upper() if letter.isupper() else new) + name[i + 1 :]


def _date_typo(rng: random.Random, birth: date) -> date:
    """The date with one component one off: day, month or year."""
    options = [("day", 1), ("day", -1), ("month", 1), ("month", -1), ("year", 1), ("year", -1)]
    rng.shuffle(options)
    for part, step in options:
        values = {"day": birth.day, "month": birth.month, "year": birth.year}
        values[part] += step
        try:
            changed = date(values["year"], values["month"], values["day"])
        except ValueError:
            continue
        if changed.day != birth.month or changed.month != birth.day:
            return changed
    raise AssertionError(birth)  # pragma: no cover - some option is always valid
