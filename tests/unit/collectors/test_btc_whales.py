"""btc_whales collector against the documented mempool.space answer, over real HTTP."""

import pytest

from cryptohub_desktop.collectors import btc_whales
from cryptohub_desktop.core.errors import UpstreamParseError
from cryptohub_desktop.core.symbols import SymbolMap
from cryptohub_desktop.providers.upstream import Context
from tests.helpers import collect_with
from tests.replay import Fault, ReplayServer

TXID = "4b93c138293a7e3dfea6f0a63d944890b5ba571b03cc22d8c66995535e90dce8"


async def test_transaction_over_the_threshold_is_returned_with_usd_value():
    """At 65,000 USD/BTC the 4,972,029 sat transaction (3,231.8 USD) passes a 3,000 USD bar."""
    with ReplayServer() as srv:
        base = srv.mount("btc_whales")
        records = await collect_with(
            btc_whales.PROVIDER, base, prices={"BTC": 65000.0}, options={"min_usd": 3000}
        )
    (tx,) = records
    assert (tx.blockchain, tx.symbol, tx.transaction_hash) == ("bitcoin", "BTC", TXID)
    assert tx.amount == pytest.approx(0.04972029)
    assert tx.amount_usd == pytest.approx(0.04972029 * 65000.0)
    assert tx.timestamp.tzinfo is not None


async def test_transaction_under_the_threshold_is_not_returned():
    """With the default 1M USD bar the same small transaction is dropped."""
    with ReplayServer() as srv:
        base = srv.mount("btc_whales")
        records = await collect_with(btc_whales.PROVIDER, base, prices={"BTC": 65000.0})
        assert srv.count("/btc_whales/mempool/recent") == 1
    assert records == []


async def test_entry_without_value_is_skipped():
    """A Liquid-style entry with no value (confidential) is skipped, not a parse error."""
    body = (
        b'[{"txid": "06428bf0f6dc6a55e1d800afcd4697d1cdee4debbfaa7fd782d747a80d051c25",'
        b' "fee": 251, "vsize": 2515}]'
    )
    with ReplayServer() as srv:
        base = srv.mount("btc_whales")
        srv.fault("/btc_whales/mempool/recent", Fault(body=body))
        records = await collect_with(btc_whales.PROVIDER, base, options={"min_usd": 0})
    assert records == []


async def test_no_btc_price_yet_returns_nothing_and_calls_nothing():
    """Without a BTC consensus price the pass makes no call and returns no rows."""
    with ReplayServer() as srv:
        base = srv.mount("btc_whales")
        ctx = Context(symbols=["BTC"], symbol_map=SymbolMap.bundled(), prices={})
        assert await collect_with(btc_whales.PROVIDER, base, ctx=ctx) == []
        assert srv.seen == []


async def test_wrong_shape_is_a_parse_error():
    """An object where the array of transactions belongs is a parse error, not a row."""
    with ReplayServer() as srv:
        base = srv.mount("btc_whales")
        srv.fault("/btc_whales/mempool/recent", Fault(body=b'{"txid": "x", "value": 1}'))
        with pytest.raises(UpstreamParseError):
            await collect_with(btc_whales.PROVIDER, base)
