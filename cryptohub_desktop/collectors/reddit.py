"""Reddit r/CryptoCurrency mood: ``GET /r/CryptoCurrency/hot.json?limit=50`` scored as text.

Docs: https://www.reddit.com/dev/api/#GET_hot (listing JSON of the public site);
rules: https://github.com/reddit-archive/reddit/wiki/API (a descriptive User-Agent is
required; Upstream sends one). Keyless; unauthenticated clients get about 10 requests
per minute.

The answer is a Listing: ``data.children[]`` of ``{"kind": "t3", "data": {title,
selftext, score, ups, created_utc, stickied ...}}``. Each post's title (plus the start
of its selftext) is scored with the hub's active text model (``ctx.score_text``; the
offline lexicon model when the hub gives none). Pinned (stickied) posts are moderator
threads and are skipped.

Aggregation choice: a weighted mean of the compound scores, each post weighted by
``1 + log10(1 + max(score, 0))``: popular posts count more, but sub-linearly, so one
viral post cannot outvote the front page. The result is one ``reddit_sentiment`` metric
(value -1..1, classification by the ±0.05 thresholds, timestamp now) and the number of
posts it is based on as ``reddit_posts_scored``.
"""

from __future__ import annotations

import math
from typing import Any

from cryptohub_desktop.collectors._parse import as_dict, as_list, field, num
from cryptohub_desktop.core.errors import UpstreamParseError
from cryptohub_desktop.core.records import SentimentMetric, sentiment_label
from cryptohub_desktop.core.time import utcnow
from cryptohub_desktop.providers.spec import Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.upstream import Context, Upstream

SPEC = ProviderSpec(
    id="reddit",
    name="Reddit r/CryptoCurrency",
    category="sentiment",
    base_url="https://www.reddit.com",
    docs_url="https://www.reddit.com/dev/api/#GET_hot",
    gives="mood of the r/CryptoCurrency hot posts, scored by the text-sentiment model",
    rate_limits=(RateLimit(10, 60),),
    tier=2,
)

SUBREDDIT = "CryptoCurrency"
SELFTEXT_CHARS = 500


def parse_posts(answer: Any) -> list[tuple[str, float]]:
    """Listing -> [(text to score, reddit score)] for the non-pinned posts."""
    listing = as_dict(answer)
    if listing.get("kind", "Listing") != "Listing":
        raise UpstreamParseError(f"expected a Listing, got kind {listing.get('kind')!r}")
    children = as_list(field(field(listing, "data"), "children", "data"), "data.children")
    posts = []
    for i, child in enumerate(children):
        child = as_dict(child, f"children[{i}]")
        if child.get("kind", "t3") != "t3":
            continue
        post = as_dict(field(child, "data", f"children[{i}]"), f"children[{i}].data")
        if post.get("stickied") is True:
            continue
        title, body = post.get("title"), post.get("selftext") or ""
        if not isinstance(title, str) or not isinstance(body, str):
            raise UpstreamParseError(f"children[{i}] title/selftext is not text")
        score = num(post.get("score"))
        if score is None:
            score = num(post.get("ups")) or 0.0
        text = (
            title.strip()
            if not body.strip()
            else f"{title.strip()}\n{body.strip()[:SELFTEXT_CHARS]}"
        )
        if text:
            posts.append((text, score))
    return posts


def aggregate(scored: list[tuple[float, float]]) -> float:
    """Weighted mean of (compound, reddit score) pairs; weight 1 + log10(1 + max(score, 0))."""
    weights = [1.0 + math.log10(1.0 + max(score, 0.0)) for _, score in scored]
    return sum(c * w for (c, _), w in zip(scored, weights, strict=True)) / sum(weights)


async def collect(api: Upstream, ctx: Context) -> list[SentimentMetric]:
    answer = await api.get_json(f"/r/{SUBREDDIT}/hot.json", {"limit": "50", "raw_json": "1"})
    posts = parse_posts(answer)
    if not posts:
        return []
    score_text = ctx.score_text
    if score_text is None:
        raise UpstreamParseError("no text model to score the posts with")
    scored = [(float(score_text(text)[1]), score) for text, score in posts]
    value = max(-1.0, min(1.0, aggregate(scored)))
    now = utcnow()
    return [
        SentimentMetric(
            metric_name="reddit_sentiment",
            value=value,
            classification=sentiment_label(value),
            timestamp=now,
        ),
        SentimentMetric(metric_name="reddit_posts_scored", value=float(len(scored)), timestamp=now),
    ]


PROVIDER = Provider(SPEC, collect)
