"""news_sentiment: metrics from the stored headlines of the last day (no HTTP)."""

import pytest

from cryptohub_desktop.collectors import news_sentiment
from cryptohub_desktop.core.errors import UpstreamParseError
from cryptohub_desktop.core.symbols import SymbolMap
from cryptohub_desktop.providers.upstream import Context
from tests.helpers import collect_with

# Headlines of the CoinDesk / Decrypt RSS fixtures, with the scores the offline
# lexicon model gives them.
HEADLINES = [
    {
        "title": "Bitcoin Plunges Below $90K as AI Worries Drag Nasdaq, Crypto Stocks Down",
        "sentiment": "negative",
        "sentiment_score": -0.7906,
        "published_at": "2025-12-12T16:04:27Z",
    },
    {
        "title": "Solo Bitcoin Miner Beats the Odds, Winning $282K Reward",
        "sentiment": "positive",
        "sentiment_score": "0.7964",
        "published_at": "2025-12-12T18:13:47Z",
    },
    {
        "title": "Crypto Firm Tether Says It Wants to Take Over Italian Football Club Juventus",
        "sentiment": None,
        "sentiment_score": 0.0,
        "published_at": "2025-12-12T20:59:57Z",
    },
    {
        "title": "Citadel Securities and DeFi Waging War of Words Through SEC Correspondence",
        "sentiment": "negative",
        "sentiment_score": -0.4019,
        "published_at": "2025-12-12T22:20:18Z",
    },
]


def _ctx(rows):
    async def recent_news():
        return rows

    return Context(symbols=["BTC"], symbol_map=SymbolMap.bundled(), recent_news=recent_news)


async def test_stored_headlines_give_mean_sentiment_and_label_counts():
    """The mean score of the day's headlines is a metric, with positive/negative/neutral counts."""
    records = await collect_with(news_sentiment.PROVIDER, "", ctx=_ctx(HEADLINES))
    by_name = {r.metric_name: r for r in records}
    mean = (-0.7906 + 0.7964 + 0.0 - 0.4019) / 4
    assert by_name["news_sentiment"].value == pytest.approx(mean)
    assert by_name["news_sentiment"].classification == "negative"
    assert by_name["news_positive_count"].value == 1
    assert by_name["news_negative_count"].value == 2
    assert by_name["news_neutral_count"].value == 1  # unlabelled, labelled from its 0.0 score


async def test_no_headlines_or_no_hook_gives_nothing():
    """With no stored headlines, or no recent_news hook, no metric is produced."""
    assert await collect_with(news_sentiment.PROVIDER, "", ctx=_ctx([])) == []
    ctx = Context(symbols=["BTC"], symbol_map=SymbolMap.bundled())
    assert await collect_with(news_sentiment.PROVIDER, "", ctx=ctx) == []


async def test_wrong_shape_is_a_parse_error():
    """A hook answer that is not a list of headline objects is a parse error."""
    with pytest.raises(UpstreamParseError):
        await collect_with(news_sentiment.PROVIDER, "", ctx=_ctx({"title": "x"}))
    with pytest.raises(UpstreamParseError):
        await collect_with(
            news_sentiment.PROVIDER, "", ctx=_ctx([{"title": "x", "sentiment_score": "very good"}])
        )
