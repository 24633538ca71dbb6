"""Small helpers collectors share to read vendor JSON strictly.

Numbers arrive as numbers or as strings ("67321.5"); both are accepted. A value of
the wrong shape raises :class:`UpstreamParseError`, so a changed API is recorded as
parse_error instead of landing as a wrong row.
"""

from __future__ import annotations

import math
from typing import Any

from cryptohub_desktop.core.errors import UpstreamParseError


def num(value: Any) -> float | None:
    """A number given as int, float or numeric string; None for null / "" / NaN."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        f = float(value)
    elif isinstance(value, str):
        text = value.strip().replace(",", "")
        if not text:
            return None
        try:
            f = float(text)
        except ValueError as exc:
            raise UpstreamParseError(f"not a number: {value!r}") from exc
    else:
        raise UpstreamParseError(f"not a number: {value!r}")
    return None if math.isnan(f) or math.isinf(f) else f


def req_num(value: Any, what: str = "value") -> float:
    """Like :func:`num` but the value must be there."""
    f = num(value)
    if f is None:
        raise UpstreamParseError(f"{what} is missing")
    return f


def hex_int(value: Any, what: str = "hex value") -> int:
    """A JSON-RPC quantity ("0x1b4") as int."""
    if not isinstance(value, str) or not value.startswith(("0x", "0X")):
        raise UpstreamParseError(f"{what} is not a hex quantity: {value!r}")
    try:
        return int(value, 16)
    except ValueError as exc:
        raise UpstreamParseError(f"{what} is not a hex quantity: {value!r}") from exc


def as_dict(value: Any, what: str = "answer") -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UpstreamParseError(f"{what} is not a JSON object but {type(value).__name__}")
    return value


def as_list(value: Any, what: str = "answer") -> list[Any]:
    if not isinstance(value, list):
        raise UpstreamParseError(f"{what} is not a JSON array but {type(value).__name__}")
    return value


def field(obj: Any, key: str, what: str = "answer") -> Any:
    """``obj[key]`` of a JSON object, or a parse error naming what is missing."""
    d = as_dict(obj, what)
    if key not in d:
        raise UpstreamParseError(f"{what} has no '{key}'")
    return d[key]
