"""NewsAPI collector against a real /v2/everything answer, replayed over real HTTP."""

from datetime import UTC, datetime

import pytest

from cryptohub_desktop.collectors import newsapi
from cryptohub_desktop.core.errors import (
    MissingKey,
    UpstreamHTTPError,
    UpstreamParseError,
    UpstreamRateLimited,
)
from tests.helpers import collect_with
from tests.replay import Fault, ReplayServer


async def test_everything_answer_becomes_articles_and_key_goes_in_header():
    """Real articles land with title, url, time, description; the key travels as X-Api-Key."""
    with ReplayServer() as srv:
        base = srv.mount("newsapi")
        records = await collect_with(newsapi.PROVIDER, base, keys=["test-key"])
        (seen,) = [s for s in srv.seen if s.path == "/newsapi/v2/everything"]
    assert len(records) == 4
    first = records[0]
    assert first.title == "Yield Farming Fuels Buzz Around DeFi, but Fundamentals Are Lagging"
    assert first.url == (
        "https://cointelegraph.com/news/yield-farming-fuels-buzz-around-defi-"
        "but-fundamentals-are-lagging"
    )
    assert first.published_at == datetime(2020, 8, 9, 7, 0, tzinfo=UTC)
    assert first.content == (
        "DeFi has been the name of the game since the start of the summer, "
        "but how much is the sector really growing?"
    )
    assert first.tags == "Cointelegraph"
    assert first.sentiment is None
    assert records[3].title == "XRP Price Could Soon Rally 30% Towards $0.40 After Parabolic Surge"
    assert seen.headers.get("X-Api-Key") == "test-key"
    assert "test-key" not in str(seen.query)
    assert seen.query["q"] == ["(bitcoin OR ethereum OR crypto)"]
    assert seen.query["language"] == ["en"]
    assert seen.query["sortBy"] == ["publishedAt"]
    assert seen.query["pageSize"] == ["50"]


async def test_without_key_it_is_not_called():
    """With no NEWSAPI_KEY the provider needs a key and makes no request."""
    with ReplayServer() as srv:
        base = srv.mount("newsapi")
        with pytest.raises(MissingKey):
            await collect_with(newsapi.PROVIDER, base)
        assert srv.seen == []


async def test_wrong_shape_is_a_parse_error():
    """An ok answer whose articles is not a list is a parse error."""
    with ReplayServer() as srv:
        base = srv.mount("newsapi")
        srv.fault(
            "/newsapi/v2/everything",
            Fault(body=b'{"status": "ok", "totalResults": 1, "articles": {"title": "x"}}'),
        )
        with pytest.raises(UpstreamParseError):
            await collect_with(newsapi.PROVIDER, base, keys=["test-key"])


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("rateLimited", UpstreamRateLimited),
        ("apiKeyInvalid", UpstreamHTTPError),
    ],
)
async def test_documented_error_envelope_is_an_upstream_error(code, error):
    """{"status": "error", "code": ...} is raised as rate limited / HTTP error, never as []."""
    body = f'{{"status": "error", "code": "{code}", "message": "documented error"}}'.encode()
    with ReplayServer() as srv:
        base = srv.mount("newsapi")
        srv.fault("/newsapi/v2/everything", Fault(body=body))
        with pytest.raises(error):
            await collect_with(newsapi.PROVIDER, base, keys=["test-key"])
