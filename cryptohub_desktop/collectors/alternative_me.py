"""alternative.me Crypto Fear & Greed Index: ``GET /fng/?limit=1``.

Docs: https://alternative.me/crypto/fear-and-greed-index/#api
Keyless. Documented limit: 60 requests per minute over a 10 minute window.
The index is published once a day; every returned day becomes one
``fear_greed_index`` metric (value 0..100, classification "Extreme Fear" ..
"Extreme Greed", timestamp of that day). Values and timestamps are strings.
"""

from __future__ import annotations

from typing import Any

from cryptohub_desktop.collectors._parse import as_dict, as_list, field, req_num
from cryptohub_desktop.core.errors import UpstreamHTTPError, UpstreamParseError, UpstreamRateLimited
from cryptohub_desktop.core.records import SentimentMetric
from cryptohub_desktop.core.time import from_unix
from cryptohub_desktop.providers.spec import Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.upstream import Context, Upstream

SPEC = ProviderSpec(
    id="alternative_me",
    name="alternative.me Fear & Greed",
    category="sentiment",
    base_url="https://api.alternative.me",
    docs_url="https://alternative.me/crypto/fear-and-greed-index/#api",
    gives="Crypto Fear & Greed Index (0-100) with its classification, daily",
    rate_limits=(RateLimit(60, 60),),  # "60 requests per minute over a 10 minute window"
    tier=1,
)

METRIC = "fear_greed_index"


def parse_fng(answer: Any) -> list[SentimentMetric]:
    """``/fng/``: ``{"name", "data": [{"value", "value_classification", "timestamp"}], "metadata"}``."""
    data = as_dict(answer)
    error = as_dict(data.get("metadata") or {}, "metadata").get("error")
    if error:
        message = str(error)
        if "limit" in message.lower() and "rate" in message.lower():
            raise UpstreamRateLimited(f"alternative.me: {message}")
        raise UpstreamHTTPError(f"alternative.me error: {message}", status=400)
    out = []
    for i, row in enumerate(as_list(field(data, "data"), "data")):
        row = as_dict(row, f"data[{i}]")
        value = req_num(row.get("value"), f"data[{i}].value")
        if not 0.0 <= value <= 100.0:
            raise UpstreamParseError(f"data[{i}].value {value} is outside 0..100")
        classification = row.get("value_classification") or ""
        if not isinstance(classification, str):
            raise UpstreamParseError(f"data[{i}].value_classification is not text")
        stamp = req_num(row.get("timestamp"), f"data[{i}].timestamp")
        out.append(
            SentimentMetric(
                metric_name=METRIC,
                value=value,
                classification=classification,
                timestamp=from_unix(stamp),
            )
        )
    return out


async def collect(api: Upstream, ctx: Context) -> list[SentimentMetric]:
    answer = await api.get_json("/fng/", {"limit": "1", "format": "json"})
    return parse_fng(answer)


PROVIDER = Provider(SPEC, collect)
