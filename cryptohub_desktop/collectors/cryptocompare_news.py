"""CryptoCompare (CoinDesk Data) news: GET /data/v2/news/?lang=EN.

Docs: https://min-api.cryptocompare.com/documentation?key=News&cat=latestNewsArticlesEndpoint
Answer: ``{"Type": 100, "Message": "News list successfully returned", "Data": [...]}``,
each article with ``title``, ``body``, ``url``, ``published_on`` (Unix seconds),
``tags`` and ``categories`` ("|" separated) and ``source_info``. Errors arrive
inside a 200 as ``{"Response": "Error", "Message": ...}``.
Key optional (``CRYPTOCOMPARE_KEY``, ``authorization: Apikey <key>``); same free
ceilings as the price API (20/s, 300/min, 3,000/h). Sentiment is left to the hub.
"""

from __future__ import annotations

import html
import re
from typing import Any

from cryptohub_desktop.collectors._parse import as_dict, as_list, field, req_num
from cryptohub_desktop.collectors.cryptocompare import check_response
from cryptohub_desktop.core.errors import UpstreamParseError
from cryptohub_desktop.core.records import NewsArticle
from cryptohub_desktop.core.time import from_unix
from cryptohub_desktop.providers.spec import Auth, Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.upstream import Context, Upstream

SPEC = ProviderSpec(
    id="cryptocompare_news",
    name="CryptoCompare News",
    category="news",
    base_url="https://min-api.cryptocompare.com",
    docs_url="https://min-api.cryptocompare.com/documentation?key=News&cat=latestNewsArticlesEndpoint",
    gives="latest crypto news articles from ~100 sources, with tags and categories",
    auth=Auth(
        kind="header",
        param="Authorization",
        prefix="Apikey ",
        key_names=("CRYPTOCOMPARE_KEY",),
        optional=True,
        key_url="https://www.cryptocompare.com/cryptopian/api-keys",
    ),
    rate_limits=(RateLimit(20, 1), RateLimit(300, 60), RateLimit(3000, 3600)),
    tier=2,
)

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def _text(value: Any) -> str:
    """Plain text: HTML tags dropped, entities (&#8230; &amp;) decoded, spaces folded."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise UpstreamParseError(f"expected text, got {type(value).__name__}")
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", value))).strip()


def _tags(article: dict[str, Any]) -> str:
    """``categories`` and ``tags`` ("|" separated) merged, de-duplicated, comma separated."""
    out: list[str] = []
    for key in ("categories", "tags"):
        for part in _text(article.get(key)).split("|"):
            part = part.strip()
            if part and part.lower() not in {t.lower() for t in out}:
                out.append(part)
    return ",".join(out)


def parse_news(answer: Any) -> list[NewsArticle]:
    """``/data/v2/news/``: one :class:`NewsArticle` per item of ``Data``."""
    items = as_list(field(check_response(answer), "Data"), "Data")
    out = []
    for item in items:
        a = as_dict(item, "article")
        title, url = _text(a.get("title")), a.get("url")
        if not title or not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise UpstreamParseError(f"article without title or url: {a.get('id')!r}")
        out.append(
            NewsArticle(
                title=title,
                url=url.strip(),
                published_at=from_unix(req_num(a.get("published_on"), "published_on")),
                content=_text(a.get("body")),
                tags=_tags(a),
            )
        )
    return out


async def collect(api: Upstream, ctx: Context) -> list[NewsArticle]:
    answer = await api.get_json("/data/v2/news/", {"lang": "EN", "sortOrder": "latest"})
    return parse_news(answer)


PROVIDER = Provider(SPEC, collect)
