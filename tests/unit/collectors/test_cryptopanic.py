"""CryptoPanic collector against a real posts answer, replayed over real HTTP."""

import json
from datetime import UTC, datetime

import pytest

from cryptohub_desktop.collectors import cryptopanic
from cryptohub_desktop.core.errors import MissingKey, UpstreamHTTPError, UpstreamParseError
from tests.helpers import collect_with
from tests.replay import FIXTURES, Fault, ReplayServer


def _fixture() -> dict:
    return json.loads((FIXTURES / "cryptopanic" / "posts.json").read_text())


async def test_posts_become_articles_with_currency_tags_and_key_in_query():
    """Real posts land with title, url, time and currency codes; auth_token goes in the query."""
    with ReplayServer() as srv:
        base = srv.mount("cryptopanic")
        records = await collect_with(cryptopanic.PROVIDER, base, keys=["test-key"])
        (seen,) = [s for s in srv.seen if s.path == "/cryptopanic/posts/"]
    assert [r.tags for r in records] == ["UNI", "BTC", "", "TON"]
    first = records[0]
    assert first.title == "SEC Drops Uniswap Case\u2014UNI Token Soars!"
    assert first.url == (
        "https://cryptopanic.com/news/20750316/SEC-Drops-Uniswap-CaseUNI-Token-"
        "Soars?mtm_campaign=API-OFA"
    )
    assert first.published_at == datetime(2025, 2, 26, 11, 17, 30, tzinfo=UTC)
    assert all(r.sentiment is None and r.sentiment_score is None for r in records)  # 0 votes
    assert seen.query["auth_token"] == ["test-key"]
    assert seen.query["public"] == ["true"]
    assert seen.query["currencies"] == ["BTC,ETH,BNB,SOL,XRP"]


async def test_without_key_it_is_not_called():
    """With no CRYPTOPANIC_KEY the provider needs a key and makes no request."""
    with ReplayServer() as srv:
        base = srv.mount("cryptopanic")
        with pytest.raises(MissingKey):
            await collect_with(cryptopanic.PROVIDER, base)
        assert srv.seen == []


async def test_wrong_shape_is_a_parse_error():
    """An answer whose results is not a list is a parse error."""
    with ReplayServer() as srv:
        base = srv.mount("cryptopanic")
        srv.fault("/cryptopanic/posts/", Fault(body=b'{"next": null, "results": {"id": 1}}'))
        with pytest.raises(UpstreamParseError):
            await collect_with(cryptopanic.PROVIDER, base, keys=["test-key"])


async def test_api_error_inside_200_is_an_upstream_error():
    """An answer carrying only an error status/info is reported as an API error, not as []."""
    with ReplayServer() as srv:
        base = srv.mount("cryptopanic")
        srv.fault(
            "/cryptopanic/posts/",
            Fault(body=b'{"status": "Incomplete", "info": "Token not found"}'),
        )
        with pytest.raises(UpstreamHTTPError):
            await collect_with(cryptopanic.PROVIDER, base, keys=["test-key"])


def test_developer_plan_post_without_url_uses_slug_page():
    """A developer-plan post (no url, no currencies) links to CryptoPanic's /news/{id}/{slug}/."""
    post = _fixture()["results"][0]
    slim = {k: post[k] for k in ("id", "slug", "title", "published_at", "created_at", "kind")}
    (article,) = cryptopanic.parse_posts({"next": None, "previous": None, "results": [slim]})
    assert article.url == (
        "https://cryptopanic.com/news/20750316/SEC-Drops-Uniswap-CaseUNI-Token-Soars/"
    )
    assert article.content == ""
    assert article.tags == ""


def test_v2_instruments_and_original_url_are_used():
    """v2 posts name currencies in instruments[] and link the publisher via original_url."""
    post = _fixture()["results"][1]
    post["instruments"] = post.pop("currencies")
    link = post.pop("url")
    post["original_url"] = link
    (article,) = cryptopanic.parse_posts({"results": [post]})
    assert article.tags == "BTC"
    assert article.url == link


def test_decisive_votes_give_a_sentiment_and_split_votes_do_not():
    """Community votes set the sentiment only when enough of them lean clearly one way."""
    assert cryptopanic.vote_sentiment({"positive": 9, "negative": 1}) == ("positive", 0.8)
    assert cryptopanic.vote_sentiment({"positive": "0", "negative": "6"}) == ("negative", -1.0)
    assert cryptopanic.vote_sentiment({"positive": 4, "negative": 3}) == (None, None)
    assert cryptopanic.vote_sentiment({"positive": 2, "negative": 0}) == (None, None)
