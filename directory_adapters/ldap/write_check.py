"""May idpronote write here? The write check setup and `config check` ask of LDAP.

It asks the server, without changing anything, whether the bind account may
write the identifier attribute (and the auxiliary class, when the mapping
adds one): a modify that deletes a value the entry does not hold changes
nothing, and the server's answer says why. An `LdapDirectory` mixin
(`_WriteQuestion`) over what the adapter holds: `mapping`, `form`,
`credentials`, `channel`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import ldap3

from core.errors import DirectoryError
from core.i18n import t
from core.model import (
    DirectoryAccount,
)
from directory_adapters.base import (
    FAILED,
    NOT_CHECKED,
    READ_ONLY,
    UNKNOWN_ATTRIBUTE,
    WRITABLE,
    WriteCheck,
)
from directory_adapters.ldap.connection import (
    _CONFIDENTIALITY_REQUIRED,
    _INSUFFICIENT_ACCESS,
    _NO_SUCH_ATTRIBUTE,
    _REFERRAL,
    _STRONGER_AUTH_REQUIRED,
    _SUCCESS,
    _UNDEFINED_TYPE,
    _server_words,
)
from directory_adapters.ldap.settings import CHECK_IDPN, CHECK_UAI


class _WriteQuestion:
    """`LdapDirectory.write_check`, asked of the provider."""

    def write_check(self, account: DirectoryAccount | None) -> WriteCheck:
        """`_write_check`, on the provider: where idpronote's writes go."""
        with self.channel.on_provider():
            return self._write_check(account)

    def _write_check(self, account: DirectoryAccount | None) -> WriteCheck:
        """May the bind account write the identifier attribute? Asked of the server on
        `account`'s entry, harmlessly: a modify that deletes a value the entry does not
        hold changes nothing, and the server's refusal says why (RFC 4511):
        noSuchAttribute, allowed; insufficientAccessRights, not allowed;
        undefinedAttributeType, the schema lacks the attribute. When the mapping adds
        an auxiliary class the entry lacks, deleting that class too (in the same atomic
        request as the absent value, so nothing can change) checks the right on
        objectClass."""
        attribute = self.mapping.identifier_attribute
        if account is None or not account.dn:
            return WriteCheck(NOT_CHECKED, attribute, t("dir.ldap.check.no_account"))
        dn = account.dn
        entries = self.channel.search(
            "(objectClass=*)",
            [attribute, "objectClass"],
            what=t("dir.ldap.what.before_check", dn=dn),
            bases=[dn],
            scope=ldap3.BASE,
            size_limit=0,
        )
        if not entries:
            return WriteCheck(NOT_CHECKED, attribute, t("dir.ldap.check.unreadable", dn=dn), dn)
        entry = entries[0]
        value = self._absent_value(entry.values(attribute))
        result = self._check_modify(dn, {attribute: [(ldap3.MODIFY_DELETE, [value])]})
        check = self._write_verdict(result, attribute, dn)
        object_class = self.mapping.object_class
        classes = {c.casefold() for c in entry.values("objectClass")}
        if check.status != WRITABLE or not object_class or object_class.casefold() in classes:
            return check
        # Atomic: if the entry had gained the class meanwhile, deleting the absent value
        # still fails, and the whole request with it.
        result = self._check_modify(
            dn,
            {
                "objectClass": [(ldap3.MODIFY_DELETE, [object_class])],
                attribute: [(ldap3.MODIFY_DELETE, [value])],
            },
        )
        check = self._verdict(
            result,
            attribute,
            dn,
            "dir.ldap.check.writable_with_class",
            "dir.ldap.check.no_object_class",
            object_class=object_class,
        )
        if check is not None:
            return check
        words = self.credentials.scrub(_server_words(result))
        return WriteCheck(
            FAILED,
            attribute,
            self.credentials.scrub(t("dir.ldap.check.class_refused", dn=dn, words=words)),
            dn,
        )

    def _absent_value(self, stored: Iterable[str]) -> str:
        """A value of the identifier form that the entry does not hold."""
        held = {value.casefold() for value in stored}
        for n in range(100):
            idpn = CHECK_IDPN[:-2] + f"{n:02d}"
            value = self.form.format(CHECK_UAI, idpn)
            if value.casefold() not in held:
                return value
        raise DirectoryError(t("dir.ldap.check.every_value"))

    def _check_modify(self, dn: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        def run(connection: ldap3.Connection) -> dict[str, Any]:
            connection.modify(dn, dict(changes))
            return dict(connection.result or {})

        return self.channel.run(run, t("dir.ldap.what.check", dn=dn))

    def _verdict(
        self,
        result: Mapping[str, Any],
        attribute: str,
        dn: str,
        writable: str,
        read_only: str,
        **words: str,
    ) -> WriteCheck | None:
        """What both checks (the value, then the auxiliary class) read alike in the
        server's answer: noSuchAttribute (or success), allowed; insufficientAccessRights,
        not allowed; said with the `writable` or `read_only` message. None for any
        other answer, which each check tells in its own words."""
        code = result.get("result")
        if code in (_NO_SUCH_ATTRIBUTE, _SUCCESS):
            status, message = WRITABLE, writable
        elif code == _INSUFFICIENT_ACCESS:
            status, message = READ_ONLY, read_only
        else:
            return None
        who = self.channel.who()
        return WriteCheck(
            status, attribute, t(message, who=who, attribute=attribute, dn=dn, **words), dn
        )

    def _write_verdict(self, result: Mapping[str, Any], attribute: str, dn: str) -> WriteCheck:
        check = self._verdict(
            result, attribute, dn, "dir.ldap.check.writable", "dir.ldap.check.read_only"
        )
        if check is not None:
            return check
        code = result.get("result")
        who = self.channel.who()
        words = self.credentials.scrub(_server_words(result))
        if code in (_STRONGER_AUTH_REQUIRED, _CONFIDENTIALITY_REQUIRED):
            fix = t(
                "dir.ldap.check.fix_bind_dn"
                if self.credentials.anonymous
                else "dir.ldap.check.fix_tls"
            )
            return WriteCheck(
                READ_ONLY,
                attribute,
                t(
                    "dir.ldap.check.stronger_auth",
                    who=who,
                    attribute=attribute,
                    dn=dn,
                    words=words,
                    fix=fix,
                ),
                dn,
            )
        if code == _REFERRAL:
            return WriteCheck(
                READ_ONLY,
                attribute,
                t("dir.ldap.check.referral", url=self.channel.connections.last_url),
                dn,
            )
        if code == _UNDEFINED_TYPE:
            return WriteCheck(
                UNKNOWN_ATTRIBUTE,
                attribute,
                t("dir.ldap.check.unknown_attribute", attribute=attribute, words=words),
                dn,
            )
        return WriteCheck(FAILED, attribute, t("dir.ldap.check.refused", dn=dn, words=words), dn)
