"""Whale Alert REST API v1: large transactions across chains (GET /transactions).

Docs: https://docs.whale-alert.io (the v1 "Developer API"; Whale Alert also sells a
newer Enterprise API at https://developer.whale-alert.io, not used here).
The key goes in the ``api_key`` query parameter (``X-WA-API-KEY`` header also works).
Documented limit: 10 requests per minute on the free plan (60 on the personal plan).
Free plan: ``start`` at most one hour back, ``min_value`` at least 500,000 USD,
``limit`` at most 100 per page; ``cursor`` continues where the last answer stopped.
"""

from __future__ import annotations

import time
from typing import Any

from cryptohub_desktop.collectors._parse import as_dict, as_list, num, req_num
from cryptohub_desktop.core.errors import UpstreamHTTPError, UpstreamParseError, UpstreamRateLimited
from cryptohub_desktop.core.records import WhaleTx
from cryptohub_desktop.core.time import from_unix
from cryptohub_desktop.providers.spec import Auth, Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.upstream import Context, Upstream

SPEC = ProviderSpec(
    id="whale_alert",
    name="Whale Alert",
    category="whale_tracking",
    base_url="https://api.whale-alert.io/v1",
    docs_url="https://docs.whale-alert.io",
    gives="large transfers on many chains with USD value and known owners",
    auth=Auth(
        kind="query",
        param="api_key",
        key_names=("WHALE_ALERT_KEY",),
        key_url="https://whale-alert.io/signup",
    ),
    rate_limits=(RateLimit(10, 60),),
    tier=1,
)

MIN_VALUE_FLOOR = 500_000  # the free plan refuses smaller min_value
MAX_LOOKBACK_S = 3600  # the free plan serves the last hour only
PAGE_LIMIT = 100

_RATE_WORDS = ("rate limit", "too many requests", "limit exceeded", "usage limit")

#: The cursor of the last answer per base_url, so the next pass continues from there.
_CURSORS: dict[str, str] = {}


def _party(obj: Any, what: str) -> str:
    """``from`` / ``to``: the address, or the owner name when no address is given."""
    if obj is None:
        return ""
    d = as_dict(obj, what)
    address = d.get("address") or d.get("owner") or ""
    if not isinstance(address, str):
        raise UpstreamParseError(f"{what}.address is not a string: {address!r}")
    return address


def check_result(answer: Any) -> dict[str, Any]:
    """The answer object, or the documented ``{"result": "error", "message": ...}`` raised."""
    data = as_dict(answer)
    result = data.get("result")
    if result == "success":
        return data
    if result != "error":
        raise UpstreamParseError(f"Whale Alert: unknown result {result!r}")
    message = str(data.get("message") or "error without message")
    if any(w in message.lower() for w in _RATE_WORDS):
        raise UpstreamRateLimited(f"Whale Alert: {message}", status=429)
    raise UpstreamHTTPError(f"Whale Alert error: {message}", status=400)


def parse_transactions(answer: Any) -> tuple[list[WhaleTx], str | None]:
    """``/transactions``: the transfers and the cursor for the next call."""
    data = check_result(answer)
    txs = data.get("transactions")
    rows = [] if txs is None else as_list(txs, "transactions")  # count 0 omits the array
    out = []
    for i, raw in enumerate(rows):
        tx = as_dict(raw, f"transactions[{i}]")
        tx_hash, chain, symbol = tx.get("hash"), tx.get("blockchain"), tx.get("symbol")
        if not all(isinstance(v, str) and v for v in (tx_hash, chain, symbol)):
            raise UpstreamParseError(f"transactions[{i}] lacks hash/blockchain/symbol")
        out.append(
            WhaleTx(
                blockchain=chain.lower(),
                transaction_hash=tx_hash,
                symbol=symbol.upper(),
                amount=req_num(tx.get("amount"), f"transactions[{i}].amount"),
                amount_usd=num(tx.get("amount_usd")),
                timestamp=from_unix(req_num(tx.get("timestamp"), f"transactions[{i}].timestamp")),
                from_address=_party(tx.get("from"), f"transactions[{i}].from"),
                to_address=_party(tx.get("to"), f"transactions[{i}].to"),
            )
        )
    cursor = data.get("cursor")
    return out, cursor if isinstance(cursor, str) and cursor else None


async def collect(api: Upstream, ctx: Context) -> list[WhaleTx]:
    min_value = max(MIN_VALUE_FLOOR, int(float(ctx.options.get("min_value", MIN_VALUE_FLOOR))))
    params: dict[str, Any] = {
        "min_value": str(min_value),
        "start": str(int(time.time()) - MAX_LOOKBACK_S + 60),
        "limit": str(PAGE_LIMIT),
    }
    cursor = _CURSORS.get(api.base_url)
    if cursor:
        params["cursor"] = cursor
    try:
        txs, next_cursor = parse_transactions(await api.get_json("/transactions", params))
    except UpstreamHTTPError:
        _CURSORS.pop(api.base_url, None)  # a stale cursor must not fail every later pass
        raise
    if next_cursor:
        _CURSORS[api.base_url] = next_cursor
    return txs


PROVIDER = Provider(SPEC, collect)
