"""Query parameters: one declaration gives both the parser and the OpenAPI schema.

A :class:`Param` parses one raw query value strictly (what its schema admits,
nothing more) and raises :class:`~cryptohub_desktop.server.responses.ApiError`
(400 ``bad_parameter``) otherwise. An empty optional value (``?start=``) means
"not given", as the seed's examples write it; the schema says so with
``allowEmptyValue``.

Example::

    LIMIT = Param("limit", "integer", "Rows to return", default=50, minimum=1, maximum=500)
    parse_query("limit=10&q=etf", [LIMIT, Q])  # {"limit": 10}  (unknown names are ignored)
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qsl

from cryptohub_desktop.server.responses import ApiError

MAX_FIELDS = 50
_INT = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_DATE_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_UNIX = re.compile(r"[0-9]{1,11}")


def _bad(name: str, detail: str) -> ApiError:
    return ApiError(400, "bad_parameter", f"{name}: {detail}")


def parse_time(text: str) -> datetime:
    """RFC 3339 date-time (``2024-05-01T12:00:00Z``), a date (``2024-05-01``, midnight UTC)
    or Unix seconds, as aware UTC.

    Raises:
        ValueError: anything else, or an impossible date.
    """
    if _UNIX.fullmatch(text):
        return datetime.fromtimestamp(int(text), UTC)
    if _DATE.fullmatch(text):
        d = date.fromisoformat(text)
        return datetime(d.year, d.month, d.day, tzinfo=UTC)
    if _DATE_TIME.fullmatch(text):
        s = text.upper().replace("Z", "+00:00")
        head, dot, rest = s.partition(".")
        if dot:  # cut fractions past microseconds
            digits = re.match(r"[0-9]+", rest).group(0)  # type: ignore[union-attr]
            s = f"{head}.{digits[:6].ljust(6, '0')}{rest[len(digits):]}"
        return datetime.fromisoformat(s).astimezone(UTC)
    raise ValueError("not a date-time")


@dataclass(frozen=True)
class Param:
    """One query parameter.

    Attributes:
        kind: "integer", "number", "string", "boolean" or "time" (see :func:`parse_time`).
        arg: the keyword the snapshot function takes (default: ``name``).
    """

    name: str
    kind: str
    description: str
    default: Any = None
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    max_length: int | None = None
    enum: tuple[str, ...] = ()
    upper: bool = False
    split: bool = False
    arg: str | None = None

    def schema(self) -> dict[str, Any]:
        """The JSON Schema of the raw value."""
        if self.kind == "time":
            return {"anyOf": [{"type": "string", "format": "date-time"},
                              {"type": "string", "format": "date"},
                              {"type": "string", "pattern": f"^{_UNIX.pattern}$"}]}
        s: dict[str, Any] = {"type": self.kind}
        for key, value in (("minimum", self.minimum), ("maximum", self.maximum),
                           ("maxLength", self.max_length), ("default", self.default)):
            if value is not None:
                s[key] = value
        if self.pattern:
            s["pattern"] = f"^{self.pattern}$"
        if self.enum:
            s["enum"] = list(self.enum)
        return s

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI parameter object."""
        p: dict[str, Any] = {"name": self.name, "in": "query", "required": self.required,
                             "description": self.description, "schema": self.schema()}
        if not self.required:
            p["allowEmptyValue"] = True
        return p

    def parse(self, raw: str) -> Any:
        """The value of ``raw``.

        Raises:
            ApiError: 400 when ``raw`` is not what the schema admits.
        """
        if self.kind == "integer":
            if not _INT.fullmatch(raw):
                raise _bad(self.name, f"expected an integer, got {raw[:40]!r}")
            value: Any = int(raw)
        elif self.kind == "number":
            if not _NUMBER.fullmatch(raw) or not math.isfinite(float(raw)):
                raise _bad(self.name, f"expected a number, got {raw[:40]!r}")
            value = float(raw)
        elif self.kind == "boolean":
            if raw not in ("true", "false"):
                raise _bad(self.name, f"expected true or false, got {raw[:40]!r}")
            value = raw == "true"
        elif self.kind == "time":
            try:
                value = parse_time(raw)
            except (ValueError, OverflowError, OSError):
                raise _bad(self.name, "expected an ISO-8601 date-time like "
                                      f"2024-05-01T12:00:00Z, a date or Unix seconds, "
                                      f"got {raw[:40]!r}") from None
        else:
            value = self._string(raw)
        if self.minimum is not None and value < self.minimum:
            raise _bad(self.name, f"must be at least {self.minimum:g}")
        if self.maximum is not None and value > self.maximum:
            raise _bad(self.name, f"must be at most {self.maximum:g}")
        return value

    def _string(self, raw: str) -> Any:
        if self.max_length is not None and len(raw) > self.max_length:
            raise _bad(self.name, f"longer than {self.max_length} characters")
        if self.enum and raw not in self.enum:
            shown = ", ".join(self.enum[:12]) + (" ..." if len(self.enum) > 12 else "")
            raise _bad(self.name, f"must be one of {shown}; got {raw[:40]!r}")
        if self.pattern and not re.fullmatch(self.pattern, raw):
            raise _bad(self.name, f"{raw[:40]!r} is not valid ({self.description.lower()})")
        value = raw.upper() if self.upper else raw
        return value.split(",") if self.split else value


def parse_query(query: str, params: Sequence[Param]) -> dict[str, Any]:
    """Keyword arguments for a snapshot function from a raw query string.

    Unknown names are ignored; a known name given twice, a missing required one or a
    bad value is a 400.

    Raises:
        ApiError: 400 ``bad_parameter``.
    """
    try:
        pairs = parse_qsl(query, keep_blank_values=True, errors="strict",
                          max_num_fields=MAX_FIELDS)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "bad_query", f"query string not understood: {exc}") from None
    by_name = {p.name: p for p in params}
    raw: dict[str, str] = {}
    for name, value in pairs:
        if name not in by_name:
            continue
        if name in raw:
            raise _bad(name, "given more than once")
        raw[name] = value
    out: dict[str, Any] = {}
    for p in params:
        value = raw.get(p.name, "")
        if value == "":
            if p.required:
                raise _bad(p.name, "required")
            continue
        out[p.arg or p.name] = p.parse(value)
    return out
