"""Publisher RSS feeds: CoinDesk, Cointelegraph, Decrypt (one module, one parser).

Feeds (``base_url`` is the feed URL itself; the collector fetches path ""):
- CoinDesk: https://www.coindesk.com/arc/outboundfeeds/rss/
- Cointelegraph: https://cointelegraph.com/rss
- Decrypt: https://decrypt.co/feed

All three are RSS 2.0 (Atom is accepted too), parsed with ``feedparser``. Each item
becomes a NewsArticle: title, url = link, published_at from pubDate (updated as a
fallback, now when neither is there), content = description with HTML removed,
tags = the item's categories joined by commas. An answer that is not a feed is a
parse error. No documented rate limit: the feeds are polled on the news interval
(a few calls per hour); a modest per-minute cap keeps us polite.
"""

from __future__ import annotations

import calendar
import io
import re
from datetime import UTC, datetime
from html import unescape
from html.parser import HTMLParser
from typing import Any

import feedparser

from cryptohub_desktop.core.errors import UpstreamParseError
from cryptohub_desktop.core.records import NewsArticle
from cryptohub_desktop.core.time import utcnow
from cryptohub_desktop.providers.spec import Provider, ProviderSpec, RateLimit
from cryptohub_desktop.providers.upstream import Context, Upstream

# Empty <dc:description/> or <content:encoded/> after <description> make feedparser
# replace the real summary with "" (CoinDesk sends both on every item).
_EMPTY_OVERRIDES = re.compile(r"<(?:dc:description|content:encoded)\s*/>")
_SPACES = re.compile(r"\s+")
# expat's complaints when the document stops before its root element closes: a truncated
# answer, whose last item would be stored cut off (half a URL, half a summary).
_ENDS_EARLY = ("no element found", "unclosed token", "unclosed cdata section",
               "partial character")


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def strip_html(text: str) -> str:
    """Visible text of an HTML fragment, entities decoded, whitespace collapsed."""
    if not text:
        return ""
    parser = _TextOnly()
    parser.feed(text)
    parser.close()
    return _SPACES.sub(" ", unescape(" ".join(parser.parts))).strip()


def _when(entry: Any) -> datetime:
    for key in ("published_parsed", "updated_parsed"):
        parsed = entry.get(key)
        if parsed:
            return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    return utcnow()


def _tags(entry: Any) -> str:
    seen: list[str] = []
    for tag in entry.get("tags") or []:
        term = (tag.get("term") or "").strip() if isinstance(tag, dict) else ""
        if term and term not in seen:
            seen.append(term)
    return ",".join(seen)


def parse_feed(text: str) -> list[NewsArticle]:
    """An RSS/Atom document -> articles (items without a title or a link are skipped)."""
    cleaned = _EMPTY_OVERRIDES.sub("", text)
    # A stream, never a str: feedparser would treat a str as a URL or a file name.
    feed = feedparser.parse(io.BytesIO(cleaned.encode("utf-8")))
    entries = feed.get("entries") or []
    problem = str(feed.get("bozo_exception") or "").lower()
    if feed.get("bozo") and any(m in problem for m in _ENDS_EARLY):
        raise UpstreamParseError(f"feed ends early (truncated answer): {problem}")
    if not entries and (feed.get("bozo") or not feed.get("version")):
        reason = feed.get("bozo_exception") or "no RSS/Atom root element"
        raise UpstreamParseError(f"not an RSS/Atom feed: {reason}")
    out = []
    for entry in entries:
        title = strip_html(entry.get("title") or "")
        link = (entry.get("link") or "").strip()
        if not title or not link:
            continue
        out.append(
            NewsArticle(
                title=title,
                url=link,
                published_at=_when(entry),
                content=strip_html(entry.get("summary") or ""),
                tags=_tags(entry),
            )
        )
    return out


async def collect(api: Upstream, ctx: Context) -> list[NewsArticle]:
    text = await api.get_text(
        "",
        headers={
            "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5"
        },
    )
    return parse_feed(text)


def _spec(pid: str, name: str, url: str, site: str) -> ProviderSpec:
    return ProviderSpec(
        id=pid,
        name=name,
        category="news",
        base_url=url,
        docs_url=site,
        gives="latest headlines with summary, categories and publication time",
        rate_limits=(RateLimit(10, 60),),
        tier=1,
    )


PROVIDERS = [
    Provider(
        _spec(
            "coindesk_rss",
            "CoinDesk RSS",
            "https://www.coindesk.com/arc/outboundfeeds/rss/",
            "https://www.coindesk.com/arc/outboundfeeds/rss/",
        ),
        collect,
    ),
    Provider(
        _spec(
            "cointelegraph_rss",
            "Cointelegraph RSS",
            "https://cointelegraph.com/rss",
            "https://cointelegraph.com/rss-feeds",
        ),
        collect,
    ),
    Provider(
        _spec("decrypt_rss", "Decrypt RSS", "https://decrypt.co/feed", "https://decrypt.co/feed"),
        collect,
    ),
]
