"""HTTP responses of the local server: JSON bodies, the error shape, plain text.

Every answer is ``Cache-Control: no-store`` and ``X-Content-Type-Options: nosniff``,
and says ``Connection: close``: websockets ends the TCP connection after a plain
HTTP answer, so keep-alive clients must not try to reuse it.
Errors always have the shape ``{"error": "<code>", "detail": "<text>"}``.

JSON is encoded with orjson (about ten times faster than the standard module on a
10,000-candle history: docs/PERFORMANCE.md), to UTF-8 bytes that go to the socket as
they are; routes whose answers can be large (``/api/history``) are encoded on a worker
thread by the caller (``rest.py``), so a large answer never holds the event loop.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

import orjson
from websockets.datastructures import Headers
from websockets.http11 import Response

JSON = "application/json"
BASE_HEADERS = (("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"),
                ("Connection", "close"))


class ApiError(Exception):
    """An answer other than 200, raised by handlers and turned into the error shape.

    Args:
        status: HTTP status (400, 401, 403, 404, 405, 429 ...).
        error: a short machine-readable code ("bad_parameter", "not_found" ...).
        detail: one line for a human.
        headers: extra headers (Retry-After, WWW-Authenticate, Allow).
    """

    def __init__(self, status: int, error: str, detail: str,
                 headers: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = tuple(headers)


def _finite(value: Any) -> Any:
    """``value`` with NaN / infinite floats replaced by None (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def encode_json(body: Any) -> bytes:
    """Compact JSON as UTF-8 bytes; NaN and infinities become null.

    orjson writes NaN/Infinity as null itself; what it refuses (an integer past 64
    bits, a type it does not know) goes through the standard module instead.
    """
    try:
        return orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(_finite(body), separators=(",", ":"), allow_nan=False,
                          ensure_ascii=False, default=str).encode()


def response(status: int, data: bytes, content_type: str,
             headers: Iterable[tuple[str, str]] = ()) -> Response:
    """A complete response with Content-Type and Content-Length set."""
    h = Headers([("Content-Type", content_type), ("Content-Length", str(len(data))),
                 *BASE_HEADERS, *headers])
    return Response(status, HTTPStatus(status).phrase, h, data)


def json_response(status: int, body: Any, headers: Iterable[tuple[str, str]] = (),
                  data: bytes | None = None) -> Response:
    """``body`` as JSON (or the already-encoded ``data``)."""
    return response(status, data if data is not None else encode_json(body), JSON, headers)


def error_response(exc: ApiError, headers: Iterable[tuple[str, str]] = ()) -> Response:
    """The error shape for ``exc``."""
    return json_response(exc.status, {"error": exc.error, "detail": exc.detail},
                         (*exc.headers, *headers))
