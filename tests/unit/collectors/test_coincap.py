"""CoinCap 3.0 collector against recorded answers, replayed over real HTTP."""

from datetime import timedelta

import pytest

from cryptohub_desktop.collectors import coincap
from cryptohub_desktop.core.errors import MissingKey, UpstreamHTTPError, UpstreamParseError
from cryptohub_desktop.core.time import utcnow
from tests.helpers import collect_with
from tests.replay import FIXTURES, Fault, ReplayServer

PATH = "/coincap/assets"


async def test_string_numbers_land_as_usd_prices_and_key_goes_as_bearer():
    """String priceUsd/marketCapUsd/volumeUsd24Hr/changePercent24Hr become USD prices."""
    before = utcnow()
    with ReplayServer() as srv:
        base = srv.mount("coincap")
        records = await collect_with(coincap.PROVIDER, base, keys=["test-key"])
        (seen,) = [s for s in srv.seen if s.path == PATH]
    by = {p.symbol: p for p in records}
    assert sorted(by) == ["BNB", "BTC", "ETH"]
    btc = by["BTC"]
    assert btc.quote == "USD"
    assert btc.price_usd == pytest.approx(87711.2)
    assert btc.market_cap == pytest.approx(1751239275575.2)
    assert btc.volume_24h == pytest.approx(41020315364.905166)
    assert btc.price_change_24h == pytest.approx(-2.4410536133077088)
    assert by["ETH"].price_usd == pytest.approx(2942.23)
    assert by["BNB"].price_change_24h == pytest.approx(-1.8672677319146502)
    # no "timestamp" in this recording: the fetch time is used
    assert before - timedelta(seconds=1) <= btc.timestamp <= utcnow() + timedelta(seconds=1)
    headers = {k.lower(): v for k, v in seen.headers.items()}
    assert headers["authorization"] == "Bearer test-key"
    assert seen.query["ids"] == ["bitcoin,ethereum,binance-coin,solana,xrp"]


async def test_single_asset_object_where_a_list_is_expected_is_a_parse_error():
    """A real /assets/{id} answer (data is an object) served for /assets is a parse error."""
    body = (FIXTURES / "coincap" / "asset_bitcoin.json").read_bytes()
    with ReplayServer() as srv:
        base = srv.mount("coincap")
        srv.fault(PATH, Fault(body=body))
        with pytest.raises(UpstreamParseError):
            await collect_with(coincap.PROVIDER, base, keys=["test-key"])


async def test_error_body_is_raised_not_empty():
    """An {"error": ...} body raises an upstream error instead of returning no rows."""
    with ReplayServer() as srv:
        base = srv.mount("coincap")
        srv.fault(PATH, Fault(body=b'{"error": "Invalid API key"}'))
        with pytest.raises(UpstreamHTTPError):
            await collect_with(coincap.PROVIDER, base, keys=["test-key"])


async def test_without_key_the_provider_is_not_called():
    """With no COINCAP_KEY configured the call is refused as needs_key."""
    with ReplayServer() as srv:
        base = srv.mount("coincap")
        with pytest.raises(MissingKey):
            await collect_with(coincap.PROVIDER, base)
        assert srv.count("/coincap") == 0
