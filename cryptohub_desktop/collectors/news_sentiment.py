"""News sentiment: the mood of the headlines stored in the last 24 hours (no HTTP).

The hub scores every stored headline with the active text model; this provider turns
the last day's scores into metrics. ``collect`` awaits ``ctx.recent_news()`` (a list of
``{"title", "sentiment", "sentiment_score", "published_at"}`` dicts from the database)
and returns:

- ``news_sentiment``: mean ``sentiment_score`` (-1..1) of the scored headlines, with
  its classification by the ±0.05 thresholds;
- ``news_positive_count`` / ``news_negative_count`` / ``news_neutral_count``: how many
  headlines carry each label (a headline with a score but no label is labelled from
  its score).

No headlines (or no ``recent_news`` hook) gives no metrics.
"""

from __future__ import annotations

from typing import Any

from cryptohub_desktop.collectors._parse import as_dict, as_list, num
from cryptohub_desktop.core.errors import UpstreamParseError
from cryptohub_desktop.core.records import SentimentMetric, sentiment_label
from cryptohub_desktop.core.time import utcnow
from cryptohub_desktop.providers.spec import Provider, ProviderSpec
from cryptohub_desktop.providers.upstream import Context, Upstream

SPEC = ProviderSpec(
    id="news_sentiment",
    name="News headline sentiment",
    category="sentiment",
    base_url="",
    docs_url="https://github.com/cjhutto/vaderSentiment",
    gives="mean sentiment and label counts of the last 24 hours of stored headlines",
    tier=1,
)

LABELS = ("positive", "negative", "neutral")


def summarize(headlines: Any) -> list[SentimentMetric]:
    """Stored headlines -> mean score + label counts (empty when there is nothing to say)."""
    rows = as_list(headlines, "recent news")
    counts = dict.fromkeys(LABELS, 0)
    scores: list[float] = []
    for i, row in enumerate(rows):
        row = as_dict(row, f"recent news[{i}]")
        score = num(row.get("sentiment_score"))
        label = row.get("sentiment")
        if label is not None and label not in LABELS:
            raise UpstreamParseError(f"recent news[{i}].sentiment is {label!r}")
        if score is not None:
            scores.append(max(-1.0, min(1.0, score)))
            label = label or sentiment_label(score)
        if label:
            counts[label] += 1
    if not scores and not any(counts.values()):
        return []
    now = utcnow()
    out = []
    if scores:
        mean = sum(scores) / len(scores)
        out.append(
            SentimentMetric(
                metric_name="news_sentiment",
                value=mean,
                classification=sentiment_label(mean),
                timestamp=now,
            )
        )
    out.extend(
        SentimentMetric(
            metric_name=f"news_{label}_count", value=float(counts[label]), timestamp=now
        )
        for label in LABELS
    )
    return out


async def collect(api: Upstream, ctx: Context) -> list[SentimentMetric]:
    if ctx.recent_news is None:
        return []
    return summarize(await ctx.recent_news())


PROVIDER = Provider(SPEC, collect)
