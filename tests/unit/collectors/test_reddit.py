"""Reddit sentiment collector against a real listing answer, replayed over real HTTP."""

import math

import pytest

from cryptohub_desktop.collectors import reddit
from cryptohub_desktop.core.errors import UpstreamParseError
from cryptohub_desktop.core.symbols import SymbolMap
from cryptohub_desktop.engine.textsentiment import default_lexicon_model
from cryptohub_desktop.providers.upstream import Context
from tests.helpers import collect_with
from tests.replay import Fault, ReplayServer


async def test_listing_is_scored_with_the_offline_lexicon_model():
    """The hub's offline lexicon model scores the real posts; one mood metric results."""
    ctx = Context(symbols=["BTC"], symbol_map=SymbolMap.bundled(),
                  score_text=default_lexicon_model().score)
    with ReplayServer() as srv:
        base = srv.mount("reddit")
        records = await collect_with(reddit.PROVIDER, base, ctx=ctx)
        (seen,) = [s for s in srv.seen if s.path.endswith("/hot.json")]
    assert seen.path == "/reddit/r/CryptoCurrency/hot.json"
    assert seen.query["limit"] == ["50"]
    mood, count = records
    assert (mood.metric_name, count.metric_name) == ("reddit_sentiment", "reddit_posts_scored")
    assert count.value == 2.0
    # "Red Dead ..." scores -0.6486 with VADER ("dead"), "First Look ..." 0.0
    w1, w2 = 1 + math.log10(1 + 6967), 1 + math.log10(1 + 8016)
    assert mood.value == pytest.approx(-0.6486 * w1 / (w1 + w2), abs=1e-4)
    assert mood.classification == "negative"
    assert mood.timestamp.tzinfo is not None


async def test_hub_scorer_is_used_and_weighted_by_post_score():
    """ctx.score_text scores each title; the mean weights posts by 1 + log10(1 + score)."""
    seen_texts = []

    def scorer(text):
        seen_texts.append(text)
        return ("positive", 0.8) if text.startswith("Red Dead") else ("negative", -0.4)

    ctx = Context(symbols=["BTC"], symbol_map=SymbolMap.bundled(), score_text=scorer)
    with ReplayServer() as srv:
        base = srv.mount("reddit")
        mood, _ = await collect_with(reddit.PROVIDER, base, ctx=ctx)
    assert seen_texts == ["Red Dead Redemption 2 Official Trailer", "First Look at Nintendo Switch"]
    w1, w2 = 1 + math.log10(1 + 6967), 1 + math.log10(1 + 8016)
    assert mood.value == pytest.approx((0.8 * w1 - 0.4 * w2) / (w1 + w2))
    assert mood.classification == "positive"


async def test_wrong_shape_is_a_parse_error():
    """A listing whose children is not a list is a parse error."""
    with ReplayServer() as srv:
        base = srv.mount("reddit")
        srv.fault(
            "/reddit/r/CryptoCurrency/hot.json",
            Fault(body=b'{"kind": "Listing", "data": {"children": {"kind": "t3"}}}'),
        )
        with pytest.raises(UpstreamParseError):
            await collect_with(reddit.PROVIDER, base)


async def test_no_text_model_is_a_clear_error():
    """Without a scorer in the context the run fails with a parse error naming why."""
    with ReplayServer() as srv:
        base = srv.mount("reddit")
        with pytest.raises(UpstreamParseError, match="no text model"):
            await collect_with(reddit.PROVIDER, base)


async def test_empty_listing_gives_no_metric():
    """No posts means no mood value rather than a fake neutral one."""
    with ReplayServer() as srv:
        base = srv.mount("reddit")
        srv.fault(
            "/reddit/r/CryptoCurrency/hot.json",
            Fault(body=b'{"kind": "Listing", "data": {"children": [], "after": null}}'),
        )
        assert await collect_with(reddit.PROVIDER, base) == []
