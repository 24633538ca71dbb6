"""The HTTP edge of the local server: the request head is read here before websockets
sees it.

websockets parses one HTTP/1.1 request without a body per connection (its job is
the WebSocket handshake), and what it cannot parse it drops without an answer;
bytes after the head are read as WebSocket frames, which made two pipelined GETs
end in an ``AssertionError`` traceback. :class:`EdgeConnection` (a websockets
``ServerConnection``, installed with ``serve(create_connection=...)``) therefore
buffers the head itself and:

- passes a plain request (GET, HEAD or any method without a body, HTTP/1.0 or 1.1)
  on to websockets unchanged, which calls ``process_request`` as before;
- answers what websockets would drop with the documented JSON error and closes
  cleanly (EOF, then the rest of the client's input is read and thrown away until it
  hangs up or ``linger`` seconds pass, so the answer is never lost to a reset):

  ========================================  =====================================
  request                                   answer
  ========================================  =====================================
  a body (Content-Length > 0, chunked)      405 ``method_not_allowed`` (POST, PUT
                                            ...) or 400 ``body_not_allowed`` (GET)
  folded header lines (obs-fold)            400 ``bad_request``
  ``HTTP/2.0`` (or any version but 1.x)     505 ``http_version_not_supported``
  not HTTP at all, a head past 64 KiB       400 ``bad_request`` / 431
  ========================================  =====================================

- keeps the bytes that follow a REST request (a pipelined second request) away from
  websockets: the answer says ``Connection: close``, so a client sends it again on a
  new connection; after a WebSocket upgrade request they are handed on once the
  handshake is answered.

The fast path (a well-formed GET) costs one ``find`` and a few byte checks.
"""

from __future__ import annotations

import re
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.protocol import CONNECTING, OPEN

from cryptohub_desktop.server.responses import ApiError, error_response

MAX_HEAD = 64 * 1024
MAX_LINE = 8190      # websockets' own limits, past which it answers in plain text
MAX_HEADERS = 128
LINGER = 5.0
_REQUEST_LINE = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) (HTTP/\d+(?:\.\d+)?)")
_HEADER = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*")
_PLAIN_VERSIONS = (b"HTTP/1.1", b"HTTP/1.0")
#: what needs a closer look than the fast path gives (lower-cased head)
_SUSPECT = (b"\ncontent-length:", b"\ntransfer-encoding:", b"\n ", b"\n\t")


def inspect_head(head: bytes) -> tuple[ApiError | None, bool]:
    """Judge one request head (up to and including the blank line).

    Returns:
        (the error to answer, or None to pass the request on; whether it asks for a
        WebSocket upgrade).
    """
    first, _, rest = head.partition(b"\r\n")
    m = _REQUEST_LINE.fullmatch(first)
    if m is None:
        return ApiError(400, "bad_request", "not an HTTP/1.1 request line"), False
    method, version = m.group(1), m.group(3)
    lower = rest.lower()
    upgrade = b"\nupgrade:" in b"\n" + lower and b"websocket" in lower
    if version not in _PLAIN_VERSIONS:
        return ApiError(505, "http_version_not_supported",
                        f"{version.decode()} is not served; use HTTP/1.1"), upgrade
    lines = rest.split(b"\r\n")
    if len(first) > MAX_LINE or len(lines) > MAX_HEADERS + 2 or any(
            len(line) > MAX_LINE for line in lines):
        return ApiError(431, "request_header_fields_too_large", "a request line or header "
                        f"is over {MAX_LINE} bytes, or there are over {MAX_HEADERS} headers"), upgrade
    if not any(s in b"\n" + lower for s in _SUSPECT):
        return None, upgrade
    body = False
    for line in lines:
        if not line:
            continue
        if line[:1] in (b" ", b"\t"):
            return ApiError(400, "bad_request", "folded header lines (obsolete line "
                            "folding) are not accepted"), upgrade
        h = _HEADER.fullmatch(line)
        if h is None:
            return ApiError(400, "bad_request", "a header line is not valid"), upgrade
        name = h.group(1).lower()
        if name == b"transfer-encoding" or (name == b"content-length"
                                             and h.group(2).strip(b"0") != b""):
            body = True
    if body:
        if method in (b"GET", b"HEAD"):
            return ApiError(400, "body_not_allowed", "requests with a body are not "
                            "accepted; send the parameters in the query string"), upgrade
        return ApiError(405, "method_not_allowed", "only GET and HEAD are served",
                        [("Allow", "GET, HEAD")]), upgrade
    return None, upgrade


class EdgeConnection(ServerConnection):
    """A websockets server connection that reads the request head first (see the
    module docstring). Everything after the handshake is websockets' own.

    Attributes:
        server_header: the ``Server`` header of the answers given here (a server sets
            it on a subclass: ``serve(create_connection=...)`` takes a class).
    """

    server_header = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head: bytearray | None = bytearray()
        self._held = b""        # bytes after an upgrade request, until the 101
        self._swallow = False   # bytes after a REST request, or after our own answer
        self._upgrade = False

    def data_received(self, data: bytes) -> None:
        if self._head is None:
            if self._swallow:
                return
            if self._upgrade and self.protocol.state is CONNECTING:
                self._held += data
                return
            super().data_received(data)
            return
        self._head += data
        end = self._head.find(b"\r\n\r\n")
        if end < 0:
            if len(self._head) > MAX_HEAD:
                self._reject(ApiError(431, "request_header_fields_too_large",
                                      f"the request head is over {MAX_HEAD} bytes"))
            elif b"\n" in self._head[:2048] and _REQUEST_LINE.match(
                    bytes(self._head[:self._head.find(b"\n")]).rstrip(b"\r")) is None:
                self._reject(ApiError(400, "bad_request", "not an HTTP/1.1 request line"))
            return
        head, rest = bytes(self._head[:end + 4]), bytes(self._head[end + 4:])
        self._head = None
        error, self._upgrade = inspect_head(head)
        if error is not None:
            self._reject(error)
            return
        if self._upgrade:
            self._held = rest
        else:
            self._swallow = True  # a pipelined request: answered after a reconnect
        super().data_received(head)

    async def handshake(self, *args: Any, **kwargs: Any) -> None:
        await super().handshake(*args, **kwargs)
        held, self._held = self._held, b""
        if self.protocol.state is OPEN:
            self._upgrade = False
            if held:
                super().data_received(held)

    def _reject(self, error: ApiError) -> None:
        """Answer ``error`` in the JSON shape, send EOF, read and drop the rest of the
        input until the client hangs up (or ``LINGER`` seconds), then close."""
        self._head = None
        self._swallow = True
        answer = error_response(error)
        if self.server_header:
            answer.headers["Server"] = self.server_header
        transport = self.transport
        transport.write(answer.serialize())
        if transport.can_write_eof():
            transport.write_eof()
        self.loop.call_later(LINGER, transport.close)

    def eof_received(self) -> None:
        if self._swallow and self.request is None:  # our own answer: done
            self.transport.close()
            return
        super().eof_received()
