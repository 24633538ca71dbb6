"""NewsAPI.org: crypto headlines from ``GET /v2/everything``.

Docs: https://newsapi.org/docs/endpoints/everything, errors: https://newsapi.org/docs/errors
Key: ``NEWSAPI_KEY`` in the ``X-Api-Key`` header. Free (Developer) plan: 100 requests
per day, articles delayed by 24 hours. Query: ``q=(bitcoin OR ethereum OR crypto)``,
``language=en``, ``sortBy=publishedAt``, ``pageSize=50``.

Answers are ``{"status": "ok", "totalResults", "articles": [...]}`` or
``{"status": "error", "code", "message"}`` (``rateLimited`` / ``apiKeyExhausted`` mean
rate limited). Each article gives title, description (stored as content), url,
publishedAt and source.name (stored as the article's tag: the publisher).
"""

from __future__ import annotations

from typing import Any

from cryptohub_desktop.collectors._parse import as_dict, as_list, field
from cryptohub_desktop.core.errors import UpstreamHTTPError, UpstreamParseError, UpstreamRateLimited
from cryptohub_desktop.core.records import NewsArticle
from cryptohub_desktop.core.time import parse_iso, utcnow
from cryptohub_desktop.providers.spec import Auth, Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.upstream import Context, Upstream

SPEC = ProviderSpec(
    id="newsapi",
    name="NewsAPI",
    category="news",
    base_url="https://newsapi.org",
    docs_url="https://newsapi.org/docs/endpoints/everything",
    gives="crypto headlines from 150,000+ news sources and blogs",
    auth=Auth(
        kind="header",
        param="X-Api-Key",
        key_names=("NEWSAPI_KEY",),
        key_url="https://newsapi.org/register",
    ),
    rate_limits=(RateLimit(100, 86400),),
    interval="every_15_min",  # 96 calls a day: inside the free plan's 100
    tier=2,
)

QUERY = "(bitcoin OR ethereum OR crypto)"
_RATE_CODES = {"rateLimited", "apiKeyExhausted"}
_AUTH_CODES = {"apiKeyDisabled", "apiKeyInvalid", "apiKeyMissing"}


def _raise_error(data: dict[str, Any]) -> None:
    code = str(data.get("code") or "")
    message = f"NewsAPI {code or 'error'}: {data.get('message') or ''}".strip()
    if code in _RATE_CODES:
        raise UpstreamRateLimited(message)
    if code in _AUTH_CODES:
        raise UpstreamHTTPError(message, status=401)
    raise UpstreamHTTPError(message, status=500 if code == "unexpectedError" else 400)


def _text(value: Any, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise UpstreamParseError(f"{what} is not text")
    return value.strip()


def parse_everything(answer: Any) -> list[NewsArticle]:
    """``/v2/everything`` answer -> articles; removed ("[Removed]") and url-less items skipped."""
    data = as_dict(answer)
    status = data.get("status")
    if status == "error":
        _raise_error(data)
    if status != "ok":
        raise UpstreamParseError(f"NewsAPI status is {status!r}, expected 'ok'")
    out = []
    for i, row in enumerate(as_list(field(data, "articles"), "articles")):
        row = as_dict(row, f"articles[{i}]")
        title = _text(row.get("title"), f"articles[{i}].title")
        url = _text(row.get("url"), f"articles[{i}].url")
        if not title or not url or title == "[Removed]":
            continue
        published = row.get("publishedAt")
        if published is not None and not isinstance(published, str):
            raise UpstreamParseError(f"articles[{i}].publishedAt is not text")
        source = as_dict(row.get("source") or {}, f"articles[{i}].source")
        content = _text(row.get("description"), f"articles[{i}].description") or _text(
            row.get("content"), f"articles[{i}].content"
        )
        try:
            when = parse_iso(published) if published else utcnow()
        except ValueError as exc:
            raise UpstreamParseError(f"articles[{i}].publishedAt: {published!r}") from exc
        out.append(
            NewsArticle(
                title=title,
                url=url,
                published_at=when,
                content=content,
                tags=_text(source.get("name"), f"articles[{i}].source.name"),
            )
        )
    return out


async def collect(api: Upstream, ctx: Context) -> list[NewsArticle]:
    answer = await api.get_json(
        "/v2/everything", {"q": QUERY, "language": "en", "sortBy": "publishedAt", "pageSize": "50"}
    )
    return parse_everything(answer)


PROVIDER = Provider(SPEC, collect)
