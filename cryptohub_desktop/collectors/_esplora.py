"""Readers shared by Esplora-API explorers (Blockstream, and mempool.space, which serves
the same ``/blocks/tip/height`` and ``/mempool`` endpoints).

Docs: https://github.com/Blockstream/esplora/blob/master/API.md
"""

from __future__ import annotations

from typing import Any

from cryptohub_desktop.collectors._parse import as_dict, num
from cryptohub_desktop.core.errors import UpstreamParseError


def parse_tip_height(text: str) -> int:
    """``/blocks/tip/height``: a bare decimal integer."""
    body = text.strip()
    if not body.isdigit():
        raise UpstreamParseError(f"tip height is not an integer: {body[:40]!r}")
    return int(body)


def parse_mempool_count(answer: Any) -> int | None:
    """``/mempool``: the number of unconfirmed transactions."""
    count = num(as_dict(answer, "mempool").get("count"))
    if count is None:
        return None
    if count < 0 or count != int(count):
        raise UpstreamParseError(f"mempool.count is not a count: {count!r}")
    return int(count)
