"""HTTP/1.x in a TCP connection, for the pcap reader, parsed by h11.

h11 is a protocol state machine for one side of a connection, so each
direction gets its own:

- requests: an `h11.SERVER` connection is fed the client's bytes.  After a
  request ends it is sent a dummy 204 (never written anywhere) so that it
  moves on to the next request.
- responses: an `h11.CLIENT` connection is fed the server's bytes.  h11
  accepts a response only to a request it has sent, so each parsed request
  is re-sent to it as HTTP/1.1 (h11 sends no other version) with its
  method, target, and Host, Connection and Upgrade headers, and no body.
  That also tells it that a HEAD response has no body and when a 101 or a
  2xx to CONNECT switches protocols.
- h11 closes a connection after an HTTP/1.0 message, but HTTP/1.0 peers keep
  connections open with "Connection: keep-alive" (the 304s in
  zeek-wikipedia.pcap): after each complete message a new h11 connection
  takes over the bytes already received.

Request bodies, and the bodies of responses that are not text-like, pass
through h11 as Data events and are dropped without being looked at.  A
text-like response body (`is_text_media_type`; not to HEAD, not 204 or 304)
is decoded as the SAZ reader decodes one (`_bodies`: h11 undoes the chunked
transfer coding, then gzip, deflate, br or zstd), keeping at most
`MAX_BODY_CHARS` decoded bytes, and searched for URLs (`body_urls`) as UTF-8.
Memory per connection is thus the largest head (`MAX_HTTP_HEAD`), the body
bytes h11 holds unparsed (`_BODY_BATCH`) and one decoded body up to the cap
(with its decompressor's window).
A Content-Encoding that is not read, or a body that is not valid in its
coding, is a WARNING; what the pieces before the error decoded to is still
searched (h11 gives a body in pieces of about `_BODY_BATCH` bytes).

Requests and responses are paired in order.  An exchange is yielded when its
response head arrives (status, headers, Location) or, for a body that is
searched, when the body ends, reaches the cap or is cut by the end of the
connection; without a response when the connection ends.  After CONNECT or
an Upgrade the stream is no longer HTTP and is not read further.  Host is
the Host header without its port (or the host of an absolute-form target,
RFC 9112 §3.2.2), else the server address; the port and server address are
those the connection went to.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeGuard
from urllib.parse import urljoin, urlsplit

import h11

from hostmap.ingest._bodies import Body, text_body
from hostmap.ingest._capture_file import Frame, Locate
from hostmap.ingest._reader import ReadItem
from hostmap.ingest.har import MAX_BODY_CHARS, find_urls
from hostmap.model import HttpExchange, ReadIssue, Severity

__all__ = ["MAX_HTTP_HEAD", "HttpConversation"]

MAX_HTTP_HEAD = 64 * 1024
"""The longest request or response head (start line and headers) h11 is asked to read."""
_BODY_BATCH = 32 * 1024
"""Body bytes left with h11 unread before it is asked for events (one call, not one a segment)."""


_Role = type[h11.CLIENT] | type[h11.SERVER]


def _h11_parser(role: _Role) -> h11.Connection:
    return h11.Connection(role, MAX_HTTP_HEAD)


_Parser = h11.Connection


@dataclass(slots=True)
class _Request:
    """A parsed request, waiting for its response."""

    number: int
    time: datetime | None
    event: h11.Request
    switches: bool
    """CONNECT or Upgrade: after its response the stream is not HTTP any more."""


@dataclass(slots=True)
class _Answered:
    """A request whose response head arrived and whose text-like body is being searched."""

    request: _Request
    response: h11.Response
    body: Body


class HttpConversation:
    """The requests and responses of one connection (see the module docstring)."""

    def __init__(self, address: str, port: int, locate: Locate) -> None:
        self._address, self._port, self._locate = address, port, locate
        self._parser = _h11_parser
        self._requests: _Parser | None = self._parser(h11.SERVER)
        self._responses: _Parser | None = self._parser(h11.CLIENT)
        self._pending: deque[_Request] = deque()
        self._asked = False
        """A request has been re-sent to `_responses`, which now reads its response."""
        self._unasked_bytes = 0
        """Server bytes received while no request was re-sent (bounded by MAX_HTTP_HEAD)."""
        self._unread = [0, 0]
        """Body bytes given to h11 and not yet parsed: client's, server's."""
        self._last_frame: Frame | None = None
        self._answered: _Answered | None = None
        """The exchange held back until its response body ends (at most one at a time)."""

    @property
    def wants_client(self) -> bool:
        return self._requests is not None

    @property
    def wants_server(self) -> bool:
        return self._responses is not None

    def client_data(self, data: bytes, frame: Frame) -> list[ReadItem]:
        items: list[ReadItem] = []
        requests = self._requests
        if requests is None:
            return items
        requests.receive_data(data)
        self._last_frame = frame
        if _is_in_body(requests, data, self._unread, 0):
            return items
        try:
            while (event := requests.next_event()) not in (h11.NEED_DATA, h11.PAUSED):
                if isinstance(event, h11.Request):
                    switches = event.method == b"CONNECT" or _header(event, b"upgrade") is not None
                    self._pending.append(_Request(frame.number, frame.time, event, switches))
                    if switches:
                        self._requests = None
                        break
                elif isinstance(event, h11.EndOfMessage):
                    requests.send(h11.Response(status_code=204, headers=[]))
                    requests.send(h11.EndOfMessage())
                    requests = self._requests = _next_cycle(requests, h11.SERVER, self._parser)
                elif isinstance(event, h11.ConnectionClosed):
                    break
        except h11.RemoteProtocolError as exc:
            self._requests = None
            items.append(self._issue(frame, f"HTTP request: {exc}"))
        except h11.LocalProtocolError:  # h11 refused the dummy response: stop reading requests
            self._requests = None
        return items + self._read_responses(frame)

    def server_data(self, data: bytes, frame: Frame) -> list[ReadItem]:
        if self._responses is None:
            return []
        self._responses.receive_data(data)
        self._last_frame = frame
        if _is_in_body(self._responses, data, self._unread, 1):
            return []
        if not self._asked:
            self._unasked_bytes += len(data)
            if self._unasked_bytes > MAX_HTTP_HEAD:  # a response to no request we could read
                self._responses = None
            return []
        return self._read_responses(frame)

    def close(self) -> list[ReadItem]:
        items = self._read_responses(self._last_frame) if self._last_frame else []
        if self._last_frame is not None:
            items += self._release(self._last_frame)  # a body cut by the end of the stream
        pending, self._pending = self._pending, deque()
        return items + [self._exchange(request, None) for request in pending]

    def _issue(self, frame: Frame, message: str) -> ReadIssue:
        provenance = self._locate(frame.number)
        return ReadIssue(provenance=provenance, message=message, severity=Severity.WARNING)

    def _read_responses(self, frame: Frame) -> list[ReadItem]:
        items: list[ReadItem] = []
        try:
            self._ask()
            while self._responses is not None and self._asked:
                event = self._responses.next_event()
                if event in (h11.NEED_DATA, h11.PAUSED):
                    break
                if isinstance(event, h11.Data):
                    answered = self._answered
                    if answered is not None:  # else a body that is not searched: dropped
                        answered.body.feed(event.data)
                        if answered.body.done:
                            items += self._release(frame)
                elif _is_final(event) and self._pending:
                    items += self._release(frame)
                    request = self._pending.popleft()
                    if (
                        isinstance(event, h11.Response)
                        and (body := self._body(request, event, frame, items)) is not None
                    ):
                        self._answered = _Answered(request, event, body)
                    else:
                        items.append(self._exchange(request, event))
                    if request.switches:
                        self._responses = None
                elif isinstance(event, h11.EndOfMessage):
                    items += self._release(frame)
                    self._asked, self._unasked_bytes = False, 0
                    self._responses = _next_cycle(self._responses, h11.CLIENT, self._parser)
                    self._ask()
                elif isinstance(event, h11.ConnectionClosed):
                    self._responses = None
        except h11.RemoteProtocolError as exc:
            self._responses = None
            items += self._release(frame)
            items.append(self._issue(frame, f"HTTP response: {exc}"))
        except h11.LocalProtocolError:  # h11 refused the re-sent request
            self._responses = None
        if self._responses is None:
            items += self._release(frame)
        return items

    def _body(
        self, request: _Request, response: h11.Response, frame: Frame, issues: list[ReadItem]
    ) -> Body | None:
        """The body to search for URLs, or None when it is not decoded (see the docstring).

        A Content-Encoding that cannot be decoded adds a warning to `issues`.
        """
        if request.switches or request.event.method == b"HEAD":
            return None
        content_type = _header(response, b"content-type")
        if content_type is None or response.status_code in (204, 304):
            return None
        coding = _header(response, b"content-encoding")
        warnings: list[str] = []
        body = text_body(
            _text(content_type), None if coding is None else _text(coding), MAX_BODY_CHARS, warnings
        )
        issues += (self._issue(frame, f"HTTP response: {text}") for text in warnings)
        return body

    def _release(self, frame: Frame) -> list[ReadItem]:
        """The held-back exchange, with the URLs its body gave so far (nothing if none is held)."""
        answered, self._answered = self._answered, None
        if answered is None:
            return []
        body = answered.body
        urls = find_urls(body.data.decode("utf-8", errors="replace")) if body.data else ()
        items: list[ReadItem] = [self._exchange(answered.request, answered.response, urls)]
        if body.problem:
            items.append(self._issue(frame, f"HTTP response: {body.problem}"))
        return items

    def _ask(self) -> None:
        """Re-send the oldest unanswered request to the response parser (see the docstring)."""
        if self._responses is None or self._asked or not self._pending:
            return
        request = self._pending[0].event
        names = (b"connection", b"upgrade")
        headers = [
            (name.lower(), value)
            for name, value in request.headers.raw_items()
            if name.lower() in names
        ]
        # h11 sends only HTTP/1.1, which needs a Host header; HTTP/1.0 requests may lack one
        host = _header(request, b"host") or b"placeholder.invalid"
        self._responses.send(
            h11.Request(method=request.method, target=request.target,
                        headers=[(b"host", host), *headers])
        )
        self._responses.send(h11.EndOfMessage())
        self._asked = True

    def _exchange(
        self,
        request: _Request,
        response: h11.Response | h11.InformationalResponse | None,
        body_urls: tuple[str, ...] = (),
    ) -> HttpExchange:
        event = request.event
        target, authority = _text(event.target), _text(_header(event, b"host") or b"")
        if target.lower().startswith(("http://", "https://")):  # absolute-form (RFC 9112 §3.2.2)
            parts = urlsplit(target)
            authority, path = parts.netloc, parts.path or "/"
            path += f"?{parts.query}" if parts.query else ""
        elif event.method == b"CONNECT":  # authority-form: the tunnel's target, no path
            authority, path = target, None
        else:
            path = target
        host = _host_of(authority) or self._address
        response_headers = _headers(response) if response else ()
        location = next((v for k, v in response_headers if k.lower() == "location"), None)
        return HttpExchange(
            provenance=self._locate(request.number),
            host=host,
            port=self._port,
            scheme="http",
            method=_text(event.method),
            path=path,
            status=response.status_code if response else None,
            time=request.time,
            server_address=self._address,
            request_headers=_headers(event),
            response_headers=response_headers,
            redirect_url=_redirect(authority or self._address, path, location),
            body_urls=body_urls,
        )


def _next_cycle(connection: _Parser, role: _Role, parser: Callable[[_Role], _Parser]) -> _Parser:
    """The parser for the next message, once the last one is complete.

    Where h11 will not go on (after HTTP/1.0, or "Connection: close"), a new
    parser takes over the bytes already received: see the module docstring.
    """
    try:
        connection.start_next_cycle()
    except h11.LocalProtocolError:
        data, closed = connection.trailing_data
        connection = parser(role)
        if data:
            connection.receive_data(bytes(data))
        if closed:
            connection.receive_data(b"")  # h11's way of saying the stream ended
    return connection


def _is_in_body(connection: _Parser, data: bytes, unread: list[int], side: int) -> bool:
    """Whether `data` went into a message body and can wait with h11, unparsed.

    Most bodies are dropped, and the searched ones are decoded as well in
    batches; asking h11 for events once per `_BODY_BATCH` bytes rather than
    once a segment is what keeps HTTP downloads fast.
    """
    if connection.their_state is not h11.SEND_BODY:
        unread[side] = 0
        return False
    unread[side] += len(data)
    if unread[side] < _BODY_BATCH:
        return True
    unread[side] = 0
    return False


def _is_final(event: object) -> TypeGuard[h11.Response | h11.InformationalResponse]:
    """A response that answers its request: any but 1xx, and 101 Switching Protocols."""
    if isinstance(event, h11.InformationalResponse):
        return event.status_code == 101
    return isinstance(event, h11.Response)


def _header(event: h11.Request | h11.Response, name: bytes) -> bytes | None:
    for key, value in event.headers.raw_items():  # a list: faster than iterating the headers
        if key.lower() == name:
            return value
    return None


def _headers(
    event: h11.Request | h11.Response | h11.InformationalResponse,
) -> tuple[tuple[str, str], ...]:
    return tuple((_text(name), _text(value)) for name, value in event.headers.raw_items())


def _text(raw: bytes) -> str:
    """Header bytes as text: UTF-8 where valid, else Latin-1 (RFC 9110 §5.5)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _host_of(authority: str) -> str:
    """'example.com:8080' -> 'example.com', '[2001:db8::1]:80' -> '2001:db8::1'."""
    authority = authority.strip().rsplit("@", 1)[-1]
    if authority.startswith("["):
        return authority[1 : authority.find("]")] if "]" in authority else authority
    host, colon, port = authority.rpartition(":")
    return host if colon and port.isdigit() and ":" not in host else authority


def _redirect(authority: str, path: str | None, location: str | None) -> str | None:
    if not location:
        return None
    if authority.count(":") > 1 and not authority.startswith("["):
        authority = f"[{authority}]"  # an IPv6 server address used as the authority
    try:
        return urljoin(f"http://{authority}{path or '/'}", location.strip())
    except ValueError:  # an authority urllib cannot parse (a bad IPv6 literal)
        return location.strip()
