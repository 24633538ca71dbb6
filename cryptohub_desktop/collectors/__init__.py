"""The provider catalogue: every collector module, listed explicitly.

Each module below exports ``PROVIDERS`` (a list) or ``PROVIDER``. Nothing is
discovered by introspection: adding a provider means adding its module here.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module

from cryptohub_desktop.providers.spec import Provider

MODULES = (
    # market_data
    "coingecko", "coinmarketcap", "cryptocompare", "binance", "kraken", "coinbase",
    "bitfinex", "kucoin", "okx", "bybit", "gemini", "bitstamp", "coinpaprika",
    "coinlore", "messari", "coincap",
    # blockchain_explorers
    "etherscan", "tronscan", "blockchair", "blockstream", "mempool_space",
    # news
    "cryptopanic", "newsapi", "cryptocompare_news", "rss",
    # sentiment
    "alternative_me", "reddit", "news_sentiment",
    # whale_tracking
    "whale_alert", "eth_whales", "btc_whales",
    # rpc_nodes
    "rpc",
    # onchain_analytics
    "defillama", "thegraph", "blockchain_info", "coinmetrics",
)


@cache
def all_providers() -> tuple[Provider, ...]:
    """Every provider of the catalogue, in catalogue order."""
    out: list[Provider] = []
    for name in MODULES:
        module = import_module(f"{__name__}.{name}")
        out.extend(getattr(module, "PROVIDERS", None) or [module.PROVIDER])
    ids = [p.id for p in out]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise RuntimeError(f"duplicate provider ids: {sorted(dupes)}")
    return tuple(out)
