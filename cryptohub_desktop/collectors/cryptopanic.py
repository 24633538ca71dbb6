"""CryptoPanic news aggregator: ``GET /posts/`` of the developer API v2.

Docs: https://cryptopanic.com/developers/api/ (base ``https://cryptopanic.com/api/{plan}/v2``;
``developer`` is the entry plan, a ``growth`` / ``enterprise`` key uses its own plan path
through the ``base_url`` override). Key: ``CRYPTOPANIC_KEY`` as the ``auth_token`` query
parameter. Developer plan: 2 requests per second, 100 requests per month, 20 posts per
page; polled every 8 hours (90 calls a month).

Query: ``public=true&kind=news&currencies=<watchlist>``. Answer:
``{"next", "previous", "results": [post]}``. A post carries ``title``, ``published_at``
and, depending on the plan, ``description``, ``original_url`` (the publisher's link),
``url`` (CryptoPanic's page), ``slug`` + ``id``, ``instruments[]`` (v2) or
``currencies[]`` (v1) with ``code``, and ``votes``. The stored url is the publisher's
when given, else CryptoPanic's, else the documented ``/news/{id}/{slug}/`` page. When
the community votes are decisive the vote sentiment is kept; otherwise the hub scores
the headline.
"""

from __future__ import annotations

from typing import Any

from cryptohub_desktop.collectors._parse import as_dict, as_list, num
from cryptohub_desktop.core.errors import UpstreamHTTPError, UpstreamParseError, UpstreamRateLimited
from cryptohub_desktop.core.records import NewsArticle
from cryptohub_desktop.core.time import parse_iso, utcnow
from cryptohub_desktop.providers.spec import Auth, Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.upstream import Context, Upstream

SPEC = ProviderSpec(
    id="cryptopanic",
    name="CryptoPanic",
    category="news",
    base_url="https://cryptopanic.com/api/developer/v2",
    docs_url="https://cryptopanic.com/developers/api/",
    gives="aggregated crypto news with the currencies they mention and community votes",
    auth=Auth(
        kind="query",
        param="auth_token",
        key_names=("CRYPTOPANIC_KEY",),
        key_url="https://cryptopanic.com/developers/api/keys",
    ),
    rate_limits=(RateLimit(2, 1), RateLimit(100, 30 * 86400)),
    interval="every_8_hours",
    tier=2,
)

SITE = "https://cryptopanic.com"
MIN_VOTES = 5  # fewer positive+negative votes than this say nothing
DECISIVE = 0.5  # |pos - neg| / (pos + neg) needed to call a side


def vote_sentiment(votes: Any) -> tuple[str | None, float | None]:
    """(label, score) from community votes when decisive, else (None, None)."""
    if not isinstance(votes, dict):
        return None, None
    pos, neg = num(votes.get("positive")) or 0.0, num(votes.get("negative")) or 0.0
    total = pos + neg
    if total < MIN_VOTES:
        return None, None
    score = (pos - neg) / total
    if abs(score) < DECISIVE:
        return None, None
    return ("positive" if score > 0 else "negative"), score


def _post_url(post: dict[str, Any]) -> str:
    for key in ("original_url", "url"):
        value = post.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    pid, slug = post.get("id"), post.get("slug")
    if pid is not None and isinstance(slug, str) and slug:
        return f"{SITE}/news/{pid}/{slug}/"
    return ""


def _tags(post: dict[str, Any], i: int) -> str:
    codes: list[str] = []
    for key in ("instruments", "currencies"):
        for j, cur in enumerate(as_list(post.get(key) or [], f"results[{i}].{key}")):
            code = as_dict(cur, f"results[{i}].{key}[{j}]").get("code")
            if isinstance(code, str) and code and code not in codes:
                codes.append(code)
    return ",".join(codes)


def _raise_api_error(data: dict[str, Any]) -> None:
    detail = next((str(data[k]) for k in ("info", "detail", "error", "message") if data.get(k)), "")
    if not detail and "status" not in data:
        raise UpstreamParseError("CryptoPanic answer has no 'results'")
    message = f"CryptoPanic: {detail or data.get('status')}"
    low = message.lower()
    if "rate" in low or "limit" in low or "quota" in low:
        raise UpstreamRateLimited(message)
    raise UpstreamHTTPError(message, status=403 if "token" in low or "plan" in low else 400)


def parse_posts(answer: Any) -> list[NewsArticle]:
    """``/posts/`` answer -> articles (posts without a title or any url are skipped)."""
    data = as_dict(answer)
    if "results" not in data:
        _raise_api_error(data)
    out = []
    for i, post in enumerate(as_list(data["results"], "results")):
        post = as_dict(post, f"results[{i}]")
        title, url = post.get("title"), _post_url(post)
        if title is not None and not isinstance(title, str):
            raise UpstreamParseError(f"results[{i}].title is not text")
        if not title or not url:
            continue
        stamp = post.get("published_at") or post.get("created_at")
        try:
            when = parse_iso(stamp) if isinstance(stamp, str) and stamp else utcnow()
        except ValueError as exc:
            raise UpstreamParseError(f"results[{i}].published_at: {stamp!r}") from exc
        description = post.get("description") or ""
        if not isinstance(description, str):
            raise UpstreamParseError(f"results[{i}].description is not text")
        label, score = vote_sentiment(post.get("votes"))
        out.append(
            NewsArticle(
                title=title.strip(),
                url=url,
                published_at=when,
                content=description.strip(),
                tags=_tags(post, i),
                sentiment=label,
                sentiment_score=score,
            )
        )
    return out


async def collect(api: Upstream, ctx: Context) -> list[NewsArticle]:
    params = {"public": "true", "kind": "news"}
    if ctx.symbols:
        params["currencies"] = ",".join(s.upper() for s in ctx.symbols)
    return parse_posts(await api.get_json("/posts/", params))


PROVIDER = Provider(SPEC, collect)
