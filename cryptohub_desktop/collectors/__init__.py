"""The provider catalogue: every collector module, imported and listed explicitly.

Each module exports ``PROVIDER`` (or ``PROVIDERS`` when one module speaks for
several providers). Nothing is discovered by introspection or found by name at
run time: adding a provider means importing its module here and listing it, in
its category, in :data:`PROVIDERS`.
"""

from __future__ import annotations

from cryptohub_desktop.collectors import (
    alternative_me,
    binance,
    bitfinex,
    bitstamp,
    blockchain_info,
    blockchair,
    blockstream,
    btc_whales,
    bybit,
    coinbase,
    coincap,
    coingecko,
    coinlore,
    coinmarketcap,
    coinmetrics,
    coinpaprika,
    cryptocompare,
    cryptocompare_news,
    cryptopanic,
    defillama,
    eth_whales,
    etherscan,
    gemini,
    kraken,
    kucoin,
    mempool_space,
    messari,
    news_sentiment,
    newsapi,
    okx,
    reddit,
    rpc,
    rss,
    thegraph,
    tronscan,
    whale_alert,
)
from cryptohub_desktop.providers.spec import Provider

#: Every provider of the catalogue, in catalogue order (category by category).
PROVIDERS: tuple[Provider, ...] = (
    # market_data
    coingecko.PROVIDER, coinmarketcap.PROVIDER, cryptocompare.PROVIDER, binance.PROVIDER,
    kraken.PROVIDER, coinbase.PROVIDER, bitfinex.PROVIDER, kucoin.PROVIDER, okx.PROVIDER,
    bybit.PROVIDER, gemini.PROVIDER, bitstamp.PROVIDER, coinpaprika.PROVIDER,
    coinlore.PROVIDER, messari.PROVIDER, coincap.PROVIDER,
    # blockchain_explorers
    *etherscan.PROVIDERS, tronscan.PROVIDER, blockchair.PROVIDER, blockstream.PROVIDER,
    mempool_space.PROVIDER,
    # news
    cryptopanic.PROVIDER, newsapi.PROVIDER, cryptocompare_news.PROVIDER, *rss.PROVIDERS,
    # sentiment
    alternative_me.PROVIDER, reddit.PROVIDER, news_sentiment.PROVIDER,
    # whale_tracking
    whale_alert.PROVIDER, eth_whales.PROVIDER, btc_whales.PROVIDER,
    # rpc_nodes
    *rpc.PROVIDERS,
    # onchain_analytics
    defillama.PROVIDER, thegraph.PROVIDER, blockchain_info.PROVIDER, coinmetrics.PROVIDER,
)

_ids = [p.id for p in PROVIDERS]
if len(set(_ids)) != len(_ids):  # pragma: no cover - a catalogue mistake, found at import
    raise RuntimeError(f"duplicate provider ids: {sorted({i for i in _ids if _ids.count(i) > 1})}")
