"""One establishment's people: staff, families, leavers, and the hard case each carries."""

from __future__ import annotations

import math
import random
from datetime import date, datetime
from pathlib import Path

from bench.generator.names import (
    _FIRST,
    _MORE_FUNCTIONS,
    _SURNAME,
    ADULT_FIRST_NAMES,
    COMPANIES,
    DISCIPLINES,
    IDPN_ALPHABET,
    POSTAL_SUFFIXES,
    STAFF_FUNCTIONS_FIRST,
    STUDENT_FIRST_NAMES,
    TWIN_PAIRS,
    _login_part,
    _mojibake_safe,
    has_accent,
    uai_check_letter,
)
from bench.generator.people import CATEGORIES, _Account, _Human


class _Population:
    """Who is there: drawn by `build()`, before any record or account."""

    def __init__(
        self,
        seed: int,
        students: int,
        uai: str,
        export_date: datetime,
        timetable: bool = False,
        *,
        wrong_links: bool = False,
        relatives: bool = False,
        mode: str = "complet",
        login_suffix: str = "",
    ) -> None:
        self.rng = random.Random(seed)
        # Several establishments in one directory (bench/region.py): logins unique across them.
        self.login_suffix = login_suffix
        # A population the timetable export can express: no internship supervisor,
        # no inspector, no guardian without a student (it lists guardians under students).
        self.timetable = timetable
        self.seed = seed
        self.wrong_links = wrong_links
        self.relatives = relatives
        self.mode = mode
        self.uai = uai
        self.students = students
        self.year = export_date.year if export_date.month >= 8 else export_date.year - 1
        self.humans: dict[str, list[_Human]] = {slug: [] for slug in CATEGORIES}
        self.departed: list[_Human] = []
        self.idpns: set[str] = set()
        self.logins: dict[str, int] = {}
        self._ident = 0
        self.identifiers_path = Path()
        per_level = students / 4
        self.letters = "ABCDEFGHIJKLMNOP"[: max(1, math.ceil(per_level / 28))]
        self.classes = [f"{level}{letter}" for level in "6543" for letter in self.letters]
        dept = uai[1:3] if uai.startswith("0") else uai[:3]
        self.postal_codes = [(dept + suffix)[:5] for suffix in POSTAL_SUFFIXES]

    # small draws
    def idpn(self) -> str:
        while True:
            value = "".join(self.rng.choices(IDPN_ALPHABET, k=16))
            if value not in self.idpns:
                self.idpns.add(value)
                return value

    def ident(self) -> str:
        self._ident += self.rng.randint(1, 4)
        return str(self._ident)

    def login(self, account: _Account) -> str:
        base = f"{_login_part(account.prenom)}.{_login_part(account.nom)}"
        count = self.logins.get(base, 0) + 1
        self.logins[base] = count
        # Suffixes stay below 1000: other establishments' logins use 1000 and up.
        assert count < 1000, base
        return (base if count == 1 else f"{base}{count}") + self.login_suffix

    def other_uai(self) -> str:
        while True:
            digits = self.uai[:3] + f"{self.rng.randrange(10000):04d}"
            value = digits + uai_check_letter(digits)
            if value != self.uai:
                return value

    def birth(self, age_low: int, age_high: int) -> date:
        year = self.year - self.rng.randint(age_low, age_high)
        return date.fromordinal(date(year, 1, 1).toordinal() + self.rng.randrange(365))

    def student_birth(self, level: int) -> date:
        """level 0 is 6e; about 5% are a year older, 1% a year younger."""
        year = self.year - 11 - level
        draw = self.rng.random()
        year -= 1 if draw < 0.05 else (-1 if draw < 0.06 else 0)
        return date.fromordinal(date(year, 1, 1).toordinal() + self.rng.randrange(365))

    def first_name(self, generation: str, sex: str) -> str:
        return _FIRST[generation, sex].pick(self.rng)

    def adult(self, category: str, ages: tuple[int, int], sex: str | None = None) -> _Human:
        sex = sex or self.rng.choice("FM")
        return _Human(
            category=category,
            sex=sex,
            surname=_SURNAME.pick(self.rng),
            first_name=self.first_name("adult", sex),
            birth=self.birth(*ages),
        )

    def student(self, surname: str, level: int, sex: str | None = None) -> _Human:
        sex = sex or self.rng.choice("FM")
        return _Human(
            category="eleves",
            sex=sex,
            surname=surname,
            family_surname=surname,
            first_name=self.first_name("young", sex),
            birth=self.student_birth(level),
            class_name=f"{6 - level}{self.rng.choice(self.letters)}",
        )

    # the people of the file
    def build(self) -> None:
        self.staff()
        self.families()
        self.leavers()
        self.choose_cases()
        if self.relatives:
            self.add_relatives()

    def add_relatives(self) -> None:
        """Grandparents and namesakes among the guardians (their own generator)."""
        rng = random.Random(f"datagen-relatives-{self.seed}")
        guardians = self.humans["responsables"]
        families: dict[int, list[_Human]] = {}
        for child in self.humans["eleves"]:
            if child.guardians:
                families.setdefault(id(child.guardians[0]), []).append(child)
        units = list(families.values())
        for kids in rng.sample(units, max(1, round(0.05 * len(units)))):
            father = next((g for g in kids[0].guardians if g.sex == "M"), None)
            sex = rng.choice("FM")
            human = _Human(
                category="responsables",
                sex=sex,
                surname=kids[0].family_surname if rng.random() < 0.6 else _SURNAME.pick(rng),
                first_name=_FIRST["adult", sex].pick(rng),
                birth=self.birth(58, 82),
            )
            if sex == "M" and father is not None and rng.random() < 0.2:
                human.first_name = father.first_name  # a son named after his father
            human.family_surname = kids[0].family_surname
            human.extra["CodePostal"] = rng.choice(self.postal_codes)
            human.children = list(kids)
            human.labels.append("grandparent")
            human.case = "not_in_directory" if rng.random() < 0.5 else "relative"
            for child in kids:
                child.guardians = [*child.guardians, human]
            guardians.append(human)
        current = [g for g in guardians if g.case is None and g.children]
        departed = [g for g in self.departed if g.category == "responsables"]
        students = [c for c in self.humans["eleves"] if c.case is None]
        for _ in range(max(3, round(0.01 * len(guardians)))):
            model = rng.choice(departed if departed and rng.random() < 0.3 else current)
            human = _Human(
                category="responsables",
                sex=model.sex,
                surname=model.surname,
                first_name=model.first_name,
                birth=self.birth(28, 70),
            )
            human.family_surname = human.surname
            human.extra["CodePostal"] = rng.choice(self.postal_codes)
            if self.timetable or rng.random() < 0.5:  # the timetable lists guardians under a child
                child = rng.choice(students)
                human.children = [child]
                child.guardians = [*child.guardians, human]
            human.labels.append("namesake")
            human.case = "relative" if rng.random() < 1 / 3 else "not_in_directory"
            guardians.append(human)

    def staff(self) -> None:
        rng = self.rng
        teachers = max(1, round(self.students / 14))
        self.humans["enseignants"] = [self.adult("enseignants", (23, 64)) for _ in range(teachers)]
        for index in range(max(1, round(self.students / 40))):
            human = self.adult("personnels", (20, 63))
            if index < len(STAFF_FUNCTIONS_FIRST):
                masc, fem, profile = STAFF_FUNCTIONS_FIRST[index]
            else:
                masc, fem, profile = _MORE_FUNCTIONS.pick(rng)
            human.extra["Fonction"] = fem if human.sex == "F" else masc
            human.profile = profile
            if rng.random() < 0.2:
                human.birth = None
            self.humans["personnels"].append(human)
        if self.timetable:
            return self.undated_teachers()
        for _ in range(3):
            human = self.adult("maitres_de_stage", (25, 60))
            template = rng.choice(COMPANIES)
            human.extra["Entreprise"] = template.format(_SURNAME.pick(rng).title())
            human.birth = None
            self.humans["maitres_de_stage"].append(human)
        for discipline in rng.sample(DISCIPLINES, 2):
            human = self.adult("inspecteurs", (40, 62))
            human.extra["Discipline"] = discipline
            human.birth = None
            self.humans["inspecteurs"].append(human)
        self.undated_teachers()
        self.humans["maitres_de_stage"][0].case = "not_in_directory"

    def undated_teachers(self) -> None:
        # Pronote knows no birth date for a few teachers.
        for human in self.humans["enseignants"]:
            if self.rng.random() < 0.05:
                human.birth = None

    def family(self, surname: str, children: list[_Human], *, current: bool = True) -> None:
        rng = self.rng
        postal = rng.choice(self.postal_codes)
        guardians: list[_Human] = []
        if rng.random() < 0.08:
            sex = "F" if rng.random() < 0.7 else "M"
            guardians.append(self.adult("responsables", (28, 58), sex))
        else:
            guardians += [
                self.adult("responsables", (30, 60), "M"),
                self.adult("responsables", (28, 58), "F"),
            ]
        for guardian in guardians:
            guardian.family_surname = surname
            # Mothers are often known under their own (birth) name.
            if guardian.sex == "M" or rng.random() < 0.6:
                guardian.surname = surname
            guardian.extra["CodePostal"] = postal
            if guardian.sex == "F" and len(guardians) == 2 and rng.random() < 0.15:
                guardian.extra["CodePostal"] = rng.choice(self.postal_codes)
            guardian.children = list(children)
            guardian.in_file = current
        for child in children:
            child.guardians = list(guardians)
            child.in_file = current
        if current:
            self.humans["eleves"] += children
            self.humans["responsables"] += guardians
        else:
            self.departed += children + guardians

    def families(self) -> None:
        rng = self.rng
        duplicates = max(1, round(self.students / 600))
        budget = self.students - duplicates

        def take(count: int) -> int:
            nonlocal budget
            count = min(count, budget)
            budget -= count
            return count

        for index in range(max(1, round(self.students / 100))):
            if take(2) < 2:
                break
            (sex_a, name_a), (sex_b, name_b) = TWIN_PAIRS[index % len(TWIN_PAIRS)]
            level = rng.randrange(4)
            surname = _SURNAME.pick(rng)
            a, b = self.student(surname, level, sex_a), self.student(surname, level, sex_b)
            a.first_name, b.first_name = name_a, name_b
            b.birth, b.class_name = a.birth, a.class_name if rng.random() < 0.5 else b.class_name
            a.case = b.case = "twins"
            self.family(surname, [a, b])
        for case, pairs in (
            ("homonym", max(1, round(self.students / 200))),
            ("same_name_same_date", max(1, round(self.students / 600))),
        ):
            for _ in range(pairs):
                if take(2) < 2:
                    break
                surname = _SURNAME.pick(rng)
                a = self.student(surname, rng.randrange(4))
                b = self.student(surname, rng.randrange(4), a.sex)
                b.first_name = a.first_name
                if case == "same_name_same_date":
                    b.birth = a.birth
                    b.class_name = a.class_name[0] + rng.choice(self.letters)
                while case == "homonym" and b.birth == a.birth:
                    b.birth = self.student_birth(rng.randrange(4))
                a.case = b.case = case
                self.family(surname, [a])
                self.family(surname, [b])
        while budget > 0:
            draw = rng.random()
            size = take(1 if draw < 0.87 else (2 if draw < 0.985 else 3))
            surname = _SURNAME.pick(rng)
            levels = rng.sample(range(4), size)
            children = [self.student(surname, level) for level in levels]
            names = {c.first_name for c in children}
            while len(names) < size:  # siblings do not share a first name
                for child in children[1:]:
                    child.first_name = self.first_name("young", child.sex)
                names = {c.first_name for c in children}
            self.family(surname, children)
        # Guardians of no student in the file: former students' parents, neighbours.
        for _ in range(0 if self.timetable else round(0.05 * self.students)):
            human = self.adult("responsables", (28, 70))
            human.family_surname = human.surname
            human.extra["CodePostal"] = rng.choice(self.postal_codes)
            self.humans["responsables"].append(human)

    def leavers(self) -> None:
        """Directory accounts of people who left: last year's 3e and a few teachers."""
        rng = self.rng
        for _ in range(max(1, round(0.04 * self.students))):
            surname = _SURNAME.pick(rng)
            child = self.student(surname, 3)
            child.birth = self.student_birth(4)
            self.family(surname, [child], current=False)
        for _ in range(max(1, round(0.05 * len(self.humans["enseignants"])))):
            human = self.adult("enseignants", (23, 64))
            human.in_file = False
            self.departed.append(human)
        for human in self.departed:
            human.labels.append("departed")
        students = [h for h in self.departed if h.category == "eleves"]
        others = [h for h in self.departed if h.category != "eleves"]
        stale = rng.sample(students, max(1, round(0.6 * len(students))))
        stale += rng.sample(others, round(0.5 * len(others)))
        for human in stale:
            human.labels.append("stale_identifier")

    def take(self, pool: list[_Human], count: int, case: str) -> list[_Human]:
        free = [h for h in pool if h.case is None]
        chosen = self.rng.sample(free, min(count, len(free)))
        for human in chosen:
            human.case = case
        return chosen

    def choose_cases(self) -> None:
        rng = self.rng
        h = self.humans
        students, teachers, guardians = h["eleves"], h["enseignants"], h["responsables"]
        s, t, g = len(students), len(teachers), len(guardians)
        self.take(students, max(1, round(0.01 * s)), "not_in_directory")
        self.take(teachers, round(0.02 * t), "not_in_directory")
        self.take(guardians, round(0.02 * g), "not_in_directory")
        self.take(students, max(1, round(self.students / 600)), "duplicate_in_pronote")
        # In the timetable form a guardian's second record must sit under a second child.
        pool = [x for x in guardians if len(x.children) > 1] if self.timetable else guardians
        self.take(pool, max(1, round(g / 300)), "duplicate_in_pronote")
        self.take(teachers, max(1, round(0.10 * t)), "two_establishments")
        everyone = students + teachers + guardians + h["personnels"]
        self.take(everyone, max(1, round(0.01 * len(everyone))), "typo")
        for case, pool, rate in (
            ("mojibake", students + teachers + guardians, 0.005),
            ("lost_letter", students + teachers + guardians, 0.005),
            ("accents_dropped", students + teachers, 0.03),
        ):
            for human in self.take(pool, max(1, round(rate * len(pool))), case):
                if not has_accent(human.first_name) and not has_accent(human.surname):
                    generation = "young" if human.category == "eleves" else "adult"
                    names = STUDENT_FIRST_NAMES if generation == "young" else ADULT_FIRST_NAMES
                    accented = [
                        n for n, _ in names[human.sex] if has_accent(n) and _mojibake_safe(n)
                    ]
                    human.first_name = rng.choice(accented)
        single = [x for x in students if len(x.guardians[0].children) == 1] + teachers
        for human in self.take(single, max(1, round(0.01 * (s + t))), "compound_name"):
            if "-" not in human.surname and " " not in human.surname:
                other = _SURNAME.pick(rng)
                while other == human.surname or not other.isalpha():
                    other = _SURNAME.pick(rng)
                human.surname = f"{human.surname}-{other}"
            human.variant = rng.choice(("space", "first_only", "file_first_only"))
        mothers = [
            x
            for x in guardians
            if x.sex == "F" and x.children and len(x.children[0].guardians) == 2
        ]
        self.take(mothers, max(1, round(0.03 * g)), "married_name")
        dated = [x for x in students + teachers if x.birth is not None]
        self.take(dated, max(1, round(0.005 * (s + t))), "date_typo")
        for human in self.take(dated, max(1, round(0.005 * (s + t))), "swapped_day_month"):
            assert human.birth is not None
            while human.birth.day > 12 or human.birth.day == human.birth.month:
                human.birth = human.birth.replace(day=rng.randint(1, 12))
        self.take(students, max(1, round(0.01 * s)), "stale_identifier")
