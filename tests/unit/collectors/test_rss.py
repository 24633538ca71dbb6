"""Publisher RSS collectors (CoinDesk, Cointelegraph, Decrypt) against real feed items."""

from datetime import UTC, datetime

import pytest

from cryptohub_desktop.collectors import rss
from cryptohub_desktop.core.errors import UpstreamParseError
from tests.helpers import collect_with
from tests.replay import Fault, ReplayServer

BY_ID = {p.id: p for p in rss.PROVIDERS}


async def _collect(pid: str, fault: Fault | None = None):
    with ReplayServer() as srv:
        base = srv.mount(pid)
        if fault:
            srv.fault(f"/{pid}", fault)
        records = await collect_with(BY_ID[pid], base)
        return records, srv.seen


def test_three_feeds_are_declared_with_their_documented_urls():
    """The catalogue lists the three publisher feeds with their real feed URLs, keyless."""
    assert {p.id: p.spec.base_url for p in rss.PROVIDERS} == {
        "coindesk_rss": "https://www.coindesk.com/arc/outboundfeeds/rss/",
        "cointelegraph_rss": "https://cointelegraph.com/rss",
        "decrypt_rss": "https://decrypt.co/feed",
    }
    assert all(p.spec.category == "news" and not p.spec.auth.requires_key for p in rss.PROVIDERS)


async def test_coindesk_items_become_articles_with_summary_and_categories():
    """CoinDesk items keep their CDATA summary (despite the empty dc:description) and tags."""
    records, seen = await _collect("coindesk_rss")
    assert [s.path for s in seen] == ["/coindesk_rss"]
    assert len(records) == 3
    first = records[0]
    assert first.title == (
        "Citadel Securities and DeFi Waging War of Words Through SEC Correspondence"
    )
    assert first.url == (
        "https://www.coindesk.com/policy/2025/12/12/citadel-securities-and-"
        "defi-waging-war-of-words-through-sec-correspondence"
    )
    assert first.published_at == datetime(2025, 12, 12, 22, 20, 18, tzinfo=UTC)
    assert first.content.startswith("The investing giant had asked the U.S. Securities")
    assert first.tags == "Policy,SEC,Citadel Securities,DeFi Education Fund,News"
    assert first.sentiment is None and first.sentiment_score is None
    assert records[2].title == (
        "Bitcoin Plunges Below $90K as AI Worries Drag Nasdaq, Crypto Stocks Down"
    )


async def test_cointelegraph_html_description_is_stripped_to_text():
    """Cointelegraph's HTML description (image + paragraph) is stored as plain text."""
    records, _ = await _collect("cointelegraph_rss")
    assert len(records) == 3
    first = records[0]
    assert first.title == (
        "Figure Technology files \u2018second IPO\u2019 to bring native equity issuance to Solana"
    )
    assert first.url.startswith(
        "https://cointelegraph.com/news/figure-technology-solana-"
        "onchain-equity-second-ipo?utm_source=rss_feed"
    )
    assert first.content == (
        "Figure is planning a second IPO to issue blockchain-native equity "
        "on Solana, enabling onchain trading and DeFi use cases beyond "
        "traditional stock markets."
    )
    assert first.published_at == datetime(2025, 12, 12, 16, 57, 28, tzinfo=UTC)
    assert first.tags == ""
    assert records[2].tags.split(",")[:5] == [
        "Trump memecoin",
        "Solana memecoin",
        "TRUMP token",
        "Solana",
        "SOL",
    ]


async def test_decrypt_entities_decoded_and_empty_categories_dropped():
    """Decrypt titles have &#39; decoded and empty <category/> elements are left out."""
    records, _ = await _collect("decrypt_rss")
    assert [r.tags for r in records] == ["Coins", "terra-luna-2,Law and Order", "Coins"]
    assert records[0].title == (
        "Vanguard Exec Calls Bitcoin a 'Digital Labubu', Even as Firm Offers Crypto ETF Trading"
    )
    assert records[1].url == (
        "https://decrypt.co/352207/bleak-victim-letters-helped-seal-terra-founder-do-kwon-fate"
    )
    assert records[2].published_at == datetime(2025, 12, 12, 18, 13, 47, tzinfo=UTC)


@pytest.mark.parametrize("pid", ["coindesk_rss", "cointelegraph_rss", "decrypt_rss"])
async def test_answer_that_is_not_a_feed_is_a_parse_error(pid):
    """A JSON or HTML answer where the feed should be is a parse error, not an empty feed."""
    with pytest.raises(UpstreamParseError):
        await _collect(pid, Fault(body=b'{"error": "not found"}'))
    with pytest.raises(UpstreamParseError):
        await _collect(pid, Fault(body=b"<html><body>Just a moment...</body></html>"))


def test_empty_but_valid_channel_is_no_articles():
    """A well-formed RSS channel with no items yields no articles (not an error)."""
    text = '<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>'
    assert rss.parse_feed(text) == []
