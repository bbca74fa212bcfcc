"""The write path's own BER (directory_adapters/ldap/wire.py): the very bytes ldap3 sends,
and answers that are not LDAP refused as a broken link, never half-read.

The answers of a real server are decoded in tests/ldap/test_ldap_pipeline.py."""

from __future__ import annotations

import socket

import ldap3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ldap3.core import exceptions as ldap_errors
from ldap3.operation.modify import modify_operation
from ldap3.operation.search import search_operation
from ldap3.protocol.convert import build_controls_list
from ldap3.protocol.rfc4511 import LDAPMessage, MessageID, ProtocolOp
from ldap3.protocol.rfc4527 import post_read_control
from ldap3.utils.asn1 import encode
from ldap3.utils.conv import escape_filter_chars

from directory_adapters.ldap import wire as ldap_wire
from directory_adapters.ldap.lookup import _compiled, _object_classes
from directory_adapters.ldap.query import _Entry

# Values as hostile as an identifiers file can make them: filter syntax, NUL, accents.
# (Stripped, as the adapter sends them: ldap3's text filters drop outer spaces.)
values = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40).filter(
    lambda v: v == v.strip()
)
dns = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60)


def ldap3_message(message_id: int, kind: str, request, controls=None) -> bytes:
    message = LDAPMessage()
    message["messageID"] = MessageID(message_id)
    message["protocolOp"] = ProtocolOp().setComponentByName(kind, request)
    built = build_controls_list(controls)
    if built is not None:
        message["controls"] = built
    return bytes(encode(message))


@settings(max_examples=60, deadline=None)
@given(
    message_id=st.integers(min_value=1, max_value=2**31 - 1),
    dn=dns,
    delete=st.lists(values, max_size=3),
    add=st.lists(values, min_size=1, max_size=2),
    with_class=st.booleans(),
    post_read=st.booleans(),
)
def test_a_modify_is_the_bytes_ldap3_sends(message_id, dn, delete, add, with_class, post_read):
    changes: dict = {}
    ours = []
    if with_class:
        changes["objectClass"] = [(ldap3.MODIFY_ADD, ["entPronoteAccount"])]
        ours.append((ldap_wire.ADD, "objectClass", ["entPronoteAccount"]))
    changes["idPronote"] = []
    if delete:
        changes["idPronote"].append((ldap3.MODIFY_DELETE, delete))
        ours.append((ldap_wire.DELETE, "idPronote", delete))
    changes["idPronote"].append((ldap3.MODIFY_ADD, add))
    ours.append((ldap_wire.ADD, "idPronote", add))
    controls = [post_read_control(["idPronote"])] if post_read else None
    expected = ldap3_message(
        message_id,
        "modifyRequest",
        modify_operation(dn, changes, True, None, None, False),
        controls,
    )
    mine = ldap_wire.modify_request(message_id, dn, ours, ["idPronote"] if post_read else [])
    assert mine == expected


@settings(max_examples=60, deadline=None)
@given(
    message_id=st.integers(min_value=1, max_value=2**31 - 1),
    logins=st.lists(values, min_size=1, max_size=60),
    held=st.lists(values, max_size=60),
    time_limit=st.integers(min_value=0, max_value=3600),
)
def test_a_search_is_the_bytes_ldap3_sends_for_the_escaped_filter(
    message_id, logins, held, time_limit
):
    """Values go as octets: `*)(uid=*` is a value, exactly as escaped text is to ldap3."""

    def any_of(parts: list[str]) -> str:
        return parts[0] if len(parts) == 1 else "(|" + "".join(parts) + ")"

    by_login = any_of([f"(uid={escape_filter_chars(v)})" for v in logins])
    text = f"(&(objectClass=ENTPerson){by_login})"
    ours = ldap_wire.all_of(
        [
            _compiled("(objectClass=ENTPerson)"),
            ldap_wire.any_of([ldap_wire.equality("uid", v) for v in logins]),
        ]
    )
    if held:
        text = any_of([text, any_of([f"(idPronote={escape_filter_chars(v)})" for v in held])])
        holding = ldap_wire.any_of([ldap_wire.equality("idPronote", v) for v in held])
        ours = ldap_wire.any_of([ours, holding])
    attributes = ["uid", "idPronote", "objectClass"]
    request = search_operation(
        "ou=people,dc=example,dc=org",
        text,
        ldap3.SUBTREE,
        ldap3.DEREF_ALWAYS,
        attributes,
        0,
        time_limit,
        False,
        True,
        True,
        None,
        None,
        False,
    )
    expected = ldap3_message(message_id, "searchRequest", request)
    mine = ldap_wire.search_request(
        message_id,
        "ou=people,dc=example,dc=org",
        ours,
        attributes,
        time_limit=time_limit,
    )
    assert mine == expected


def test_a_post_read_entry_is_read_with_or_without_the_criticality() -> None:
    # ldap3 leaves FALSE out; a server may send it, even TRUE: both are read.
    entry = ldap_wire._tlv(
        0x64,
        ldap_wire._octets("uid=a,dc=x")
        + ldap_wire._tlv(
            0x30,
            ldap_wire._tlv(
                0x30,
                ldap_wire._octets("idPronote")
                + ldap_wire._tlv(0x31, ldap_wire._octets("0441234A$X")),
            ),
        ),
    )
    oid = ldap_wire._octets(ldap_wire.POST_READ)
    for criticality in (b"", b"\x01\x01\x00", b"\x01\x01\xff"):
        control = ldap_wire._tlv(0x30, oid + criticality + ldap_wire._tlv(0x04, entry))
        request = ldap_wire.Request(b"", 1, controls=ldap_wire._controls(control, 0, len(control)))
        assert request.post_read == _Entry("uid=a,dc=x", {"idpronote": ["0441234A$X"]})


@pytest.mark.parametrize(
    ("person_filter", "classes"),
    [
        ("(objectClass=ENTPerson)", ("entperson",)),
        ("(OBJECTCLASS=inetOrgPerson)", ("inetorgperson",)),
        ("(&(objectClass=ENTPerson)(objectClass=ESCOPerson))", ("entperson", "escoperson")),
        ("(|(objectClass=ENTPerson)(objectClass=person))", None),
        ("(&(objectClass=ENTPerson)(!(uid=x)))", None),
        ("(objectClass=*)", None),
        ("(&(objectClass=ENTPerson)(uid=a*))", None),
        ("", None),
    ],
)
def test_only_a_filter_of_object_classes_is_checked_on_this_side(person_filter, classes) -> None:
    assert _object_classes(person_filter) == classes


class _Connection:
    """Just the socket attribute a Pipeline borrows (ldap3 opens it in the adapter)."""

    def __init__(self, sock: socket.socket) -> None:
        self.socket = sock


@pytest.mark.parametrize(
    "answer",
    [
        b"\x04\x03abc",  # not a SEQUENCE
        b"\x30\x84\xff\xff\xff\xff",  # a 4 GiB message
        b"\x30\x80\x00\x00",  # indefinite length, forbidden in LDAP
        b"\x30\x06\x02\x01\x05\x67\x01\x00",  # a result shorter than its parts
        b"\x30\x05\x02\x01\x63\x67\x00",  # an answer to a message never sent
    ],
)
def test_bytes_that_are_not_an_answer_break_the_link(answer: bytes) -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        request = ldap_wire.Request(ldap_wire.modify_request(5, "uid=a", []), 5)
        theirs.sendall(answer)
        with pytest.raises(ldap_errors.LDAPCommunicationError):
            ldap_wire.Pipeline(_Connection(ours), window=4, timeout=2).run([request])
        assert request.sent and request.result is None


def test_a_closed_or_silent_peer_breaks_the_link_within_the_timeout() -> None:
    ours, theirs = socket.socketpair()
    with ours:
        request = ldap_wire.Request(ldap_wire.modify_request(6, "uid=a", []), 6)
        pipeline = ldap_wire.Pipeline(_Connection(ours), window=4, timeout=0.2)
        with pytest.raises(ldap_errors.LDAPSocketReceiveError, match="timed out"):
            pipeline.run([request])
        theirs.close()
        later = ldap_wire.Request(ldap_wire.modify_request(7, "uid=a", []), 7)
        with pytest.raises(ldap_errors.LDAPCommunicationError):
            pipeline.run([later])
