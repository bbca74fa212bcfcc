"""Stored state as evidence: an identifier already stored, a CAS login, a remembered link.

Each names one account that someone or something wrote earlier, possibly
by mistake, so each is taken only if that account is the person (names
that agree, and no other account of the category that fits clearly
better); otherwise the record is a ``conflict`` for a human.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from core.matching.bounds import BLOCK_LIMIT
from core.matching.decisions import Decision
from core.matching.people import _Person
from core.model import DirectoryAccount, PronoteAccount
from core.names import dates_compatible


class _StoredEvidence:
    """The rules `already_linked`, `cas_login` and `remembered`, mixed into `_Step`.

    They read the step's indexes and use its helpers (`names_agree`,
    `taken_by_other`, `logins`, `ranked`, `crowded`).
    """

    def already_linked(self, i: int, p: PronoteAccount) -> Decision | None:
        """The identifier is stored already: evidence only if the holder is the person.

        Someone wrote it, maybe wrongly (a past import, a hand edit): a value
        on two accounts, or on an account whose names disagree, or while
        another account fits clearly better, is a conflict. It is never
        written nor removed automatically: the admin decides.
        """
        holders = list(self.owner.stored.get(p.idpn, ()))
        if not holders:
            return None
        logins = tuple(sorted({h.login for h in holders}))
        if len(logins) > 1:
            return Decision(
                p,
                False,
                "conflict",
                candidates=self.with_best(i, logins),
                why="stored_twice",
                params=(("accounts", _listed(logins, self.settings.candidates)),),
            )
        holder = holders[0]
        cas = self.owner.by_login(p.cas_login)
        if cas is not None and cas.login.casefold() != holder.login.casefold():
            return Decision(
                p,
                False,
                "conflict",
                candidates=(cas.login, holder.login),
                why="stored_elsewhere",
                params=(("holder", holder.login), ("cas", cas.login)),
            )
        if not self.names_agree(self.p_people[i], self.owner.person(holder)):
            return Decision(
                p,
                False,
                "conflict",
                candidates=self.with_best(i, (holder.login,)),
                why="stored_on_another_person",
                params=(("holder", holder.login), ("name", holder.display_name)),
            )
        better = self.better_fits(i, holder)
        if better:
            return self.fits_better(p, holder, better, "stored_better_fit")
        return Decision(p, True, "already_linked", holder.login, 100, (holder.login,))

    def cas_login(self, i: int, p: PronoteAccount) -> Decision | None:
        account = self.owner.by_login(p.cas_login)
        if account is None or account.login.casefold() not in self.is_candidate:
            return None
        if not self.names_agree(self.p_people[i], self.owner.person(account)):
            return Decision(
                p,
                False,
                "conflict",
                candidates=self.with_best(i, (account.login,)),
                why="cas_names_disagree",
                params=(("login", account.login), ("name", account.display_name)),
            )
        # A login given to a namesake: another account fits the record clearly better.
        better = self.better_fits(i, account)
        if better:
            return self.fits_better(p, account, better, "cas_better_fit")
        j = self.index_of(account)
        if self.taken_by_other(j, p.idpn):
            return self.taken(p, account)
        return Decision(p, True, "cas_login", account.login, 100, (account.login,))

    def remembered(self, i: int, p: PronoteAccount) -> Decision | None:
        """A manual link of an earlier import, while its account is still that person.

        The admin may have linked across names (a married name, a nickname):
        the account is compared with whom it was when the link was made, not
        with the file. An entry from before that was recorded is compared
        with the file's names instead.
        """
        link = self.owner.remembered.get(p.idpn)
        account = self.owner.by_login(link.login if link else None)
        if link is None or account is None or account.login.casefold() not in self.is_candidate:
            return None
        now = self.owner.person(account)
        if link.recorded:
            then = _Person.of(link.surname or "", link.first_name or "", link.birth_date)
            changed = not self.names_agree(then, now) or not dates_compatible(then.birth, now.birth)
            why = "remembered_owner_changed"
        else:
            changed = not self.names_agree(self.p_people[i], now)
            why = "remembered_names_disagree"
        if changed:
            return Decision(
                p,
                False,
                "conflict",
                candidates=self.with_best(i, (account.login,)),
                why=why,
                params=(("login", account.login), ("name", account.display_name)),
            )
        if self.taken_by_other(self.index_of(account), p.idpn):
            return self.taken(p, account)
        return Decision(p, True, "remembered", account.login, 100, (account.login,))

    def better_fits(self, i: int, account: DirectoryAccount) -> tuple[str, ...]:
        """Other accounts of the category that fit record i clearly better than `account`.

        `account` fits fully when it is of the category, with exactly the
        record's names and a compatible birth date; then nothing fits better.
        Otherwise any free account that does fit fully is better (a login or an
        identifier on a namesake with another date, on the account of another
        profile, on a near-homonym): precision first, a human chooses.
        """
        person = self.p_people[i]
        other = self.owner.person(account)
        key = account.login.casefold()
        if (
            key in self.is_candidate
            and other.names == person.names
            and dates_compatible(person.birth, other.birth)
        ):
            return ()
        same = self.by_names.get(person.names, ())
        if len(same) > BLOCK_LIMIT:
            # Too many homonyms to look at one by one: some may fit better, a human decides.
            return tuple(
                login for login in self.same_names_logins(person) if login.casefold() != key
            )
        found = [
            j
            for j in same
            if self.candidates[j].login.casefold() != key
            and dates_compatible(person.birth, self.d_people[j].birth)
            and not self.taken_by_other(j, self.pronote[i].idpn)
        ]
        return self.logins(found)

    def fits_better(
        self, p: PronoteAccount, account: DirectoryAccount, better: tuple[str, ...], why: str
    ) -> Decision:
        return Decision(
            p,
            False,
            "conflict",
            candidates=(account.login, *better),
            why=why,
            params=(("holder", account.login), ("better", ", ".join(better))),
        )

    def with_best(self, i: int, named: Iterable[str]) -> tuple[str, ...]:
        """The accounts a conflict names, then the record's best candidates."""
        person = self.p_people[i]
        if self.crowded(person):  # never a ranking of thousands of homonyms per record
            best = self.same_names_logins(person)
        else:
            best = self.ranked(person, self.block(person))
        return tuple(dict.fromkeys((*named, *best)))[: max(self.settings.candidates, 2)]


def _listed(logins: Sequence[str], shown: int) -> str:
    """A few logins for a message, and how many more (never 80,000 names in one line)."""
    text = ", ".join(logins[:shown])
    return text + (f" (+{len(logins) - shown})" if len(logins) > shown else "")
