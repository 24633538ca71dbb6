"""CryptoCompare news collector against a recorded answer, replayed over real HTTP."""

from datetime import UTC, datetime

import pytest

from cryptohub_desktop.collectors import cryptocompare_news
from cryptohub_desktop.core.errors import UpstreamParseError, UpstreamRateLimited
from cryptohub_desktop.core.records import NewsArticle
from tests.helpers import collect_with
from tests.replay import FIXTURES, Fault, ReplayServer

PATH = "/cryptocompare_news/data/v2/news/"


async def test_news_items_become_articles_with_tags_and_plain_text():
    """Each Data item becomes an article: title, url, time, plain body, merged tags."""
    with ReplayServer() as srv:
        base = srv.mount("cryptocompare_news")
        records = await collect_with(cryptocompare_news.PROVIDER, base)
        (seen,) = [s for s in srv.seen if s.path == PATH]
    assert seen.query["lang"] == ["EN"]
    assert len(records) == 4 and all(isinstance(r, NewsArticle) for r in records)
    first = records[0]
    assert first.title == "Guy Makes $5 Million From an 80,000 Ethereum Flashloan"
    assert first.url == (
        "https://www.trustnodes.com/2020/11/14/guy-makes-5-million-from-an-80000-ethereum-flashloan"
    )
    assert first.published_at == datetime.fromtimestamp(1605373250, UTC)
    assert first.content.startswith("A skilled coder has just made $5 million")
    assert first.tags == "ETH,Ethereum,News,Smart Contracts"
    assert first.sentiment is None and first.sentiment_score is None
    assert records[1].tags == "BTC,Coins"  # "BTC" in both fields is kept once
    assert records[2].content == ""
    xrp = records[3]
    assert "Bitstamp revealed that […]The post Bitstamp still ‘assessing support’" in xrp.content
    assert xrp.tags.split(",")[:3] == ["XRP", "ICO", "Altcoin"]


async def test_wrong_shape_is_a_parse_error():
    """A Data member that is an object instead of a list is a parse error, not rows."""
    with ReplayServer() as srv:
        base = srv.mount("cryptocompare_news")
        srv.fault(PATH, Fault(body=b'{"Type": 100, "Data": {"title": "x"}}'))
        with pytest.raises(UpstreamParseError):
            await collect_with(cryptocompare_news.PROVIDER, base)


async def test_in_body_rate_limit_error_is_rate_limited():
    """The 'Response: Error' rate-limit answer raises rate_limited, not an empty list."""
    body = (FIXTURES / "cryptocompare" / "rate_limited.json").read_bytes()
    with ReplayServer() as srv:
        base = srv.mount("cryptocompare_news")
        srv.fault(PATH, Fault(body=body))
        with pytest.raises(UpstreamRateLimited):
            await collect_with(cryptocompare_news.PROVIDER, base)


async def test_optional_key_is_sent_as_apikey_authorization_header():
    """With CRYPTOCOMPARE_KEY set the news call carries 'authorization: Apikey <key>'."""
    with ReplayServer() as srv:
        base = srv.mount("cryptocompare_news")
        await collect_with(cryptocompare_news.PROVIDER, base, keys=["test-key"])
        (seen,) = [s for s in srv.seen if s.path == PATH]
    headers = {k.lower(): v for k, v in seen.headers.items()}
    assert headers["authorization"] == "Apikey test-key"
