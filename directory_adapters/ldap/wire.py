"""The write path's LDAP messages, encoded and decoded here, many in flight on one connection.

Why not ldap3's operations for this: ldap3 builds every request through
pyasn1 and parses every filter from text, and decodes every answer into
dictionaries of converted values. On a write batch that costs the client
more than the server spends on the writes (issue 17: the searches around
5,000 writes took most of the client's time, 42 % of it building 50-term
filters). A batch needs only three shapes: a search whose filter is
equalities under AND and OR, a modify carrying the post-read control
(RFC 4527), and their answers. They are encoded here in BER as RFC 4511
§5.1 asks (definite lengths; every LDAP tag fits in one byte); the tests
check the requests byte for byte against ldap3's own encoding.

ldap3 still opens, secures (TLS) and binds the connection; `Pipeline` only
writes requests to its socket and reads the answers, in the thread that
borrowed the connection. There is no receiver thread, so none can outlive
the connection or spin once the server is gone. Up to `window` requests are
in flight at once; answers are matched by message ID, in whatever order the
server sends them. A broken link or a silent server raises one of ldap3's
communication errors, after which the connection must be dropped (the
caller's `_Connections.lend` does).
"""

from __future__ import annotations

import socket
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ldap3 import Server
from ldap3.core import exceptions as ldap_errors
from ldap3.core.results import RESULT_CODES

from directory_adapters.ldap.query import _Entry

POST_READ = "1.3.6.1.1.13.2"  # RFC 4527

# Modify operations (RFC 4511 §4.6).
ADD, DELETE = 0, 1

# BER tags (RFC 4511 §4.2 to §4.6, appendix B).
_BOOLEAN, _INTEGER, _OCTETS, _ENUMERATED = 0x01, 0x02, 0x04, 0x0A
_SEQUENCE, _SET = 0x30, 0x31
_SEARCH_REQUEST, _SEARCH_ENTRY, _SEARCH_DONE, _SEARCH_REFERENCE = 0x63, 0x64, 0x65, 0x73
_MODIFY_REQUEST, _MODIFY_RESPONSE = 0x66, 0x67
_EXTENDED_RESPONSE = 0x78
_CONTROLS = 0xA0
_AND, _OR, _EQUALITY = 0xA0, 0xA1, 0xA3
# Answers that end an operation (every LDAPResult-shaped response).
_FINAL = frozenset(
    {0x61, _SEARCH_DONE, _MODIFY_RESPONSE, 0x69, 0x6B, 0x6D, 0x6F, _EXTENDED_RESPONSE}
)

_SUBTREE = 2
_DEREF_ALWAYS = 3  # what ldap3's searches send by default: the same answers as before
# No answer from a sane server comes near this; a bigger length is a broken stream.
MAX_MESSAGE = 16 << 20
_RECEIVE_SIZE = 1 << 16


class Malformed(ldap_errors.LDAPSocketReceiveError):
    """The server sent bytes that are not an LDAP message: the stream is unusable."""


# -- encoding -------------------------------------------------------------------------------


def _length(size: int) -> bytes:
    if size < 0x80:
        return bytes((size,))
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(octets),)) + octets


def _tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:  # most elements: one call, no length bytes to build
        return bytes((tag, size)) + content
    return bytes((tag,)) + _length(size) + content


def _octets(text: str, tag: int = _OCTETS) -> bytes:
    return _tlv(tag, text.encode("utf-8"))


@lru_cache(maxsize=64)
def _name(attribute: str) -> bytes:
    """An attribute description as an LDAPString: the same few, encoded once."""
    return _octets(attribute)


def _integer(value: int, tag: int = _INTEGER) -> bytes:
    return _tlv(tag, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


def _boolean(value: bool) -> bytes:
    return _tlv(_BOOLEAN, b"\xff" if value else b"\x00")


def equality(attribute: str, value: str) -> bytes:
    """`(attribute=value)` as a filter: the value is sent as bytes, so it needs no escaping."""
    return _tlv(_EQUALITY, _name(attribute) + _octets(value))


def any_of(filters: Sequence[bytes]) -> bytes:
    """`(|...)`, or the one filter alone."""
    return filters[0] if len(filters) == 1 else _tlv(_OR, b"".join(filters))


def all_of(filters: Sequence[bytes]) -> bytes:
    """`(&...)`, or the one filter alone."""
    return filters[0] if len(filters) == 1 else _tlv(_AND, b"".join(filters))


def _message(message_id: int, operation: bytes, controls: Sequence[bytes] = ()) -> bytes:
    wrapped = _tlv(_CONTROLS, b"".join(controls)) if controls else b""
    return _tlv(_SEQUENCE, _integer(message_id) + operation + wrapped)


def _control(oid: str, value: bytes) -> bytes:
    # criticality FALSE is the default, left out as ldap3 does: a server that
    # cannot honour the control carries on without it.
    return _tlv(_SEQUENCE, _octets(oid) + _tlv(_OCTETS, value))


def search_request(
    message_id: int,
    base: str,
    search_filter: bytes,
    attributes: Sequence[str],
    *,
    size_limit: int = 0,
    time_limit: int = 0,
) -> bytes:
    """A subtree search under `base`; `search_filter` as built by `equality`, `any_of`...

    Never paged: OpenLDAP keeps one paged search per connection, and these go
    many at a time (a search the server's size limit stops is asked again, paged,
    by ldap3)."""
    body = (
        _octets(base)
        + _integer(_SUBTREE, _ENUMERATED)
        + _integer(_DEREF_ALWAYS, _ENUMERATED)
        + _integer(size_limit)
        + _integer(time_limit)
        + _boolean(False)
        + search_filter
        + _tlv(_SEQUENCE, b"".join(_name(a) for a in attributes or ["1.1"]))
    )
    return _message(message_id, _tlv(_SEARCH_REQUEST, body))


def modify_request(
    message_id: int,
    dn: str,
    operations: Iterable[tuple[int, str, Sequence[str]]],
    post_read: Sequence[str] = (),
) -> bytes:
    """A modify of (operation, attribute, values) in order; with `post_read`, the
    post-read control (not critical) asking for those attributes."""
    changes = b"".join(
        _tlv(
            _SEQUENCE,
            _OPERATIONS[operation]
            + _tlv(_SEQUENCE, _name(attribute) + _tlv(_SET, b"".join(map(_octets, values)))),
        )
        for operation, attribute, values in operations
    )
    controls = [_post_read_control(tuple(post_read))] if post_read else []
    body = _octets(dn) + _tlv(_SEQUENCE, changes)
    return _message(message_id, _tlv(_MODIFY_REQUEST, body), controls)


_OPERATIONS = {operation: _integer(operation, _ENUMERATED) for operation in (ADD, DELETE)}


@lru_cache(maxsize=8)
def _post_read_control(attributes: tuple[str, ...]) -> bytes:
    return _control(POST_READ, _tlv(_SEQUENCE, b"".join(map(_name, attributes))))


# -- decoding -------------------------------------------------------------------------------


def _read(data: bytes, position: int, end: int) -> tuple[int, int, int]:
    """(tag, start, stop) of the element at `position`, which must end by `end`."""
    if position + 2 > end:
        raise Malformed("truncated LDAP element")
    tag, first = data[position], data[position + 1]
    start = position + 2
    if first & 0x80:
        count = first & 0x7F
        if not 0 < count <= 4 or start + count > end:
            raise Malformed("bad BER length")  # indefinite lengths are forbidden in LDAP
        size = int.from_bytes(data[start : start + count], "big")
        start += count
    else:
        size = first
    stop = start + size
    if stop > end:
        raise Malformed("LDAP element longer than its container")
    return tag, start, stop


def _expect(data: bytes, position: int, end: int, tag: int) -> tuple[int, int]:
    found, start, stop = _read(data, position, end)
    if found != tag:
        raise Malformed(f"unexpected BER tag {found:#x}, wanted {tag:#x}")
    return start, stop


def _text(data: bytes, start: int, stop: int) -> str:
    return data[start:stop].decode("utf-8", "replace")


def _entry(data: bytes, position: int, end: int) -> _Entry:
    """A SearchResultEntry's content (objectName, attributes), as the adapter's `_Entry`."""
    start, stop = _expect(data, position, end, _OCTETS)
    dn = _text(data, start, stop)
    start, end = _expect(data, stop, end, _SEQUENCE)
    attributes: dict[str, list[str]] = {}
    while start < end:
        attribute_start, attribute_end = _expect(data, start, end, _SEQUENCE)
        name_start, name_stop = _expect(data, attribute_start, attribute_end, _OCTETS)
        values_start, values_end = _expect(data, name_stop, attribute_end, _SET)
        values = attributes.setdefault(_text(data, name_start, name_stop).lower(), [])
        while values_start < values_end:
            value_start, values_start = _expect(data, values_start, values_end, _OCTETS)
            values.append(_text(data, value_start, values_start))
        start = attribute_end
    return _Entry(dn, attributes)


@dataclass
class Request:
    """One request in a pipeline, and its answer once it came."""

    data: bytes
    message_id: int
    sent: bool = False
    # The final answer: the LDAPResult as ldap3 reports it ("result", "description",
    # "message", "dn"), and its controls (OID -> value); a search's entries.
    result: dict[str, Any] | None = None
    controls: dict[str, bytes] = field(default_factory=dict)
    entries: list[_Entry] = field(default_factory=list)

    @property
    def post_read(self) -> _Entry | None:
        """The entry after the write, if the server answered the post-read control."""
        value = self.controls.get(POST_READ)
        if value is None:
            return None
        start, stop = _expect(value, 0, len(value), _SEARCH_ENTRY)
        return _entry(value, start, stop)


def new_id() -> int:
    """A message ID that no ldap3 request of this process uses (ldap3 counts them
    globally, across connections)."""
    return Server.next_message_id()


def _result(data: bytes, start: int, end: int) -> dict[str, Any]:
    code_start, code_stop = _expect(data, start, end, _ENUMERATED)
    code = int.from_bytes(data[code_start:code_stop], "big", signed=True)
    matched_start, matched_stop = _expect(data, code_stop, end, _OCTETS)
    message_start, message_stop = _expect(data, matched_stop, end, _OCTETS)
    return {
        "result": code,
        "description": RESULT_CODES.get(code, "other"),
        "message": _text(data, message_start, message_stop),
        "dn": _text(data, matched_start, matched_stop),
    }


def _controls(data: bytes, start: int, end: int) -> dict[str, bytes]:
    """A response's controls: OID -> value (empty when it has none)."""
    found = {}
    while start < end:
        control_start, control_end = _expect(data, start, end, _SEQUENCE)
        oid_start, oid_stop = _expect(data, control_start, control_end, _OCTETS)
        value, position = b"", oid_stop
        while position < control_end:  # criticality, then the value, both optional
            tag, value_start, position = _read(data, position, control_end)
            if tag == _OCTETS:
                value = bytes(data[value_start:position])
        found[_text(data, oid_start, oid_stop)] = value
        start = control_end
    return found


# -- the pipeline ---------------------------------------------------------------------------


class Pipeline:
    """Requests in flight on one bound connection's socket, at most `window` at once."""

    def __init__(self, connection: Any, *, window: int, timeout: float) -> None:
        self.socket: socket.socket | None = connection.socket
        if self.socket is None:
            raise ldap_errors.LDAPSocketOpenError("the connection is closed")
        self.socket.settimeout(timeout)
        self.window = max(1, window)
        self._buffer = bytearray()

    def run(
        self, requests: Iterable[Request], answered: Callable[[Request], None] | None = None
    ) -> None:
        """Send every request and read every answer, calling `answered(request)` as each
        one ends. Raises a `LDAPCommunicationError` when the link breaks or the server
        stays silent for the timeout; each request's `sent` and `result` then say how
        far it got (sent and unanswered: it may or may not have been carried out)."""
        waiting = deque(requests)
        flight: dict[int, Request] = {}
        while waiting or flight:
            if waiting and len(flight) < self.window:
                batch = []
                while waiting and len(flight) < self.window:
                    request = waiting.popleft()
                    flight[request.message_id] = request
                    batch.append(request)
                self._send(batch)
            for message in self._receive():
                request = self._take(message, flight)
                if request is not None and answered is not None:
                    answered(request)

    def _send(self, batch: list[Request]) -> None:
        if self.socket is None:  # pragma: no cover - set in __init__
            raise ldap_errors.LDAPSocketOpenError("the connection is closed")
        for request in batch:
            # Counted as sent before the bytes go: a send that fails half-way may
            # still have delivered some of them, and "maybe done" is the safe guess.
            request.sent = True
        try:
            self.socket.sendall(b"".join(request.data for request in batch))
        except OSError as error:
            raise ldap_errors.LDAPSocketSendError(f"socket sending error: {error}") from None

    def _receive(self) -> list[bytes]:
        """At least one whole LDAP message from the socket (all those already there)."""
        if self.socket is None:  # pragma: no cover - set in __init__
            raise ldap_errors.LDAPSocketOpenError("the connection is closed")
        while True:
            messages = self._split()
            if messages:
                return messages
            try:
                data = self.socket.recv(_RECEIVE_SIZE)
            except OSError as error:  # socket.timeout included: "timed out"
                raise ldap_errors.LDAPSocketReceiveError(f"error receiving data: {error}") from None
            if not data:
                raise ldap_errors.LDAPSessionTerminatedByServerError(
                    "the server closed the connection"
                )
            self._buffer += data

    def _split(self) -> list[bytes]:
        buffer, messages, position = self._buffer, [], 0
        while len(buffer) - position >= 2:
            if buffer[position] != _SEQUENCE:
                raise Malformed("an LDAP message must start with a SEQUENCE")
            first = buffer[position + 1]
            header = 2 + (first & 0x7F if first & 0x80 else 0)
            if len(buffer) - position < header:
                break
            try:
                _, _, stop = _read(buffer, position, MAX_MESSAGE + position + header)
            except Malformed:
                raise Malformed("an LDAP message too long or badly framed") from None
            if stop > len(buffer):
                break  # not all there yet
            messages.append(bytes(buffer[position:stop]))
            position = stop
        del buffer[:position]
        return messages

    def _take(self, message: bytes, flight: dict[int, Request]) -> Request | None:
        """File one message under its request; the request if this answer ended it."""
        start, end = _expect(message, 0, len(message), _SEQUENCE)
        id_start, id_stop = _expect(message, start, end, _INTEGER)
        message_id = int.from_bytes(message[id_start:id_stop], "big", signed=True)
        tag, op_start, op_stop = _read(message, id_stop, end)
        if message_id == 0:  # unsolicited: a notice of disconnection (RFC 4511 §4.4.1)
            raise ldap_errors.LDAPSessionTerminatedByServerError(
                "the server closed the connection (notice of disconnection)"
            )
        request = flight.get(message_id)
        if request is None:
            raise Malformed(f"an answer to no request in flight (message {message_id})")
        if tag == _SEARCH_ENTRY:
            request.entries.append(_entry(message, op_start, op_stop))
            return None
        if tag == _SEARCH_REFERENCE:
            return None  # referrals are not followed (as in every other search here)
        if tag not in _FINAL:
            raise Malformed(f"an unexpected LDAP answer (tag {tag:#x})")
        request.result = _result(message, op_start, op_stop)
        if op_stop < end and message[op_stop] == _CONTROLS:
            controls_start, controls_end = _expect(message, op_stop, end, _CONTROLS)
            request.controls = _controls(message, controls_start, controls_end)
        del flight[message_id]
        return request
