"""Every provider with a recorded answer, through the real hub path into SQLite."""

import pytest

from cryptohub_desktop.collectors import PROVIDERS
from cryptohub_desktop.core.topics import CATEGORIES
from cryptohub_desktop.storage.models import BY_TABLE, DataCollection, ProviderRow
from tests.replay import providers_with_fixtures

pytestmark = pytest.mark.backends  # each test on SQLite and on PostgreSQL

BY_ID = {p.id: p for p in PROVIDERS}
EXPECTED_TABLE = {
    "market_data": "market_prices", "blockchain_explorers": "blockchain_stats",
    "news": "news_articles", "sentiment": "sentiment_metrics",
    "whale_tracking": "whale_transactions", "rpc_nodes": "rpc_node_status",
    "onchain_analytics": "onchain_metrics",
}
# the recorded block / mempool sample hold no transfer over $1M: lower the threshold
OPTIONS = {"eth_whales": "min_usd = 1000\nblocks = 1", "btc_whales": "min_usd = 1000",
           "cloudflare_eth": "enabled = true"}  # off by default: its gateway is gone


def test_catalogue_size_and_categories():
    """The catalogue has 40+ providers in the 7 categories, 30+ of them keyless."""
    providers = PROVIDERS
    assert len(providers) >= 40
    assert sum(not p.spec.auth.requires_key for p in providers) >= 30
    assert {p.spec.category for p in providers} == set(CATEGORIES)
    for p in providers:
        assert p.spec.docs_url.startswith("https://"), p.id
        # news_sentiment makes no HTTP call (it scores stored headlines)
        assert p.spec.rate_limits or p.id == "news_sentiment", p.id


@pytest.mark.parametrize("pid", providers_with_fixtures())
async def test_recorded_answer_lands_in_its_table(pid, make_hub):
    """The provider's recorded answer, replayed over HTTP, lands as rows stamped with its id."""
    provider = BY_ID[pid]
    keys = {name: "test-key" for name in provider.spec.auth.key_names[:1]}
    hub = await make_hub([provider], keys=keys, options={pid: OPTIONS.get(pid, "")})
    hub.prices.update({"BTC": 65000.0, "ETH": 3000.0})
    result = await hub.runner.run_provider(pid)
    assert result.status == "success", result
    assert result.records > 0, result
    table = EXPECTED_TABLE[provider.spec.category]
    model = BY_TABLE[table]
    source_col = model.provider if table == "rpc_node_status" else model.source
    rows = await hub.store.read(lambda: model.select().where(source_col == pid).count())
    assert rows > 0
    coll = await hub.store.read(lambda: DataCollection.get(DataCollection.provider_id == pid))
    assert coll.category == provider.spec.category and coll.record_count == result.records
    status = await hub.store.read(lambda: ProviderRow.get_by_id(pid).status)
    assert status == "online"
