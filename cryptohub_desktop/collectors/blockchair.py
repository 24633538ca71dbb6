"""Blockchair: Bitcoin network stats (GET /bitcoin/stats).

Docs: https://blockchair.com/api/docs (section "Blockchain stats").
``data`` holds ``blocks`` (count, i.e. best height + 1), ``best_block_height``,
``transactions`` (total), ``difficulty``, ``hashrate_24h`` (H/s, a STRING because it
exceeds 2^53), ``mempool_transactions`` and ``suggested_transaction_fee_per_byte_sat``;
``context.code`` repeats the HTTP status.

Keyless use is for personal / testing purposes: about 1,440 requests a day with a ceiling
of 30 per minute (a key, not modelled here, raises it). Over the limit Blockchair answers
HTTP 402, and 430 once the IP is blocked; both are reported as rate limited.
"""

from __future__ import annotations

from typing import Any

from cryptohub_desktop.collectors._parse import as_dict, field, num
from cryptohub_desktop.core.errors import UpstreamHTTPError, UpstreamParseError, UpstreamRateLimited
from cryptohub_desktop.core.records import BlockStat, GasPrice
from cryptohub_desktop.core.time import utcnow
from cryptohub_desktop.providers.spec import Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.upstream import Context, Upstream

SPEC = ProviderSpec(
    id="blockchair",
    name="Blockchair",
    category="blockchain_explorers",
    base_url="https://api.blockchair.com",
    docs_url="https://blockchair.com/api/docs",
    gives="Bitcoin height, total transactions, hashrate, difficulty, mempool, suggested fee",
    rate_limits=(RateLimit(30, 60), RateLimit(1440, 86400)),
    tier=2,
)

#: HTTP / context codes Blockchair uses for "over the limit" (402) and "IP blocked" (430).
LIMIT_CODES = {402, 429, 430}


def _int(value: Any, what: str) -> int | None:
    f = num(value)
    if f is None:
        return None
    if f < 0 or f != int(f):
        raise UpstreamParseError(f"{what} is not a count: {value!r}")
    return int(f)


def parse_stats(answer: Any) -> list[BlockStat | GasPrice]:
    """``/bitcoin/stats`` as a BlockStat and a GasPrice (sat/vB) for bitcoin."""
    root = as_dict(answer)
    context = root.get("context")
    if context is not None:
        code = as_dict(context, "context").get("code", 200)
        if code != 200:
            text = f"Blockchair context code {code}: {as_dict(context).get('error', '')}"
            if code in LIMIT_CODES:
                raise UpstreamRateLimited(text)
            raise UpstreamHTTPError(text, status=code if isinstance(code, int) else 400)
    data = as_dict(field(root, "data"), "data")
    height = _int(data.get("best_block_height"), "data.best_block_height")
    if height is None:
        blocks = _int(field(data, "blocks", "data"), "data.blocks")
        height = blocks - 1 if blocks else None
    if height is None:
        raise UpstreamParseError("Blockchair stats have no block height")
    now = utcnow()
    out: list[BlockStat | GasPrice] = [
        BlockStat(
            blockchain="bitcoin",
            timestamp=now,
            latest_block=height,
            total_transactions=_int(data.get("transactions"), "data.transactions"),
            network_hashrate=num(data.get("hashrate_24h")),
            difficulty=num(data.get("difficulty")),
            mempool_size=_int(data.get("mempool_transactions"), "data.mempool_transactions"),
        )
    ]
    fee = num(data.get("suggested_transaction_fee_per_byte_sat"))
    if fee is not None:
        out.append(
            GasPrice(
                blockchain="bitcoin", timestamp=now, gas_price_gwei=fee, standard_gas_price=fee
            )
        )
    return out


async def collect(api: Upstream, ctx: Context) -> list[BlockStat | GasPrice]:
    try:
        answer = await api.get_json("/bitcoin/stats")
    except UpstreamHTTPError as exc:
        if exc.status in LIMIT_CODES:
            raise UpstreamRateLimited(
                f"Blockchair HTTP {exc.status}: over the free limit", status=exc.status
            ) from exc
        raise
    return parse_stats(answer)


PROVIDER = Provider(SPEC, collect)
