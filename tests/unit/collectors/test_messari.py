"""Messari collector against a documented answer, replayed over real HTTP."""

import pytest

from cryptohub_desktop.collectors import messari
from cryptohub_desktop.core.errors import MissingKey, UpstreamHTTPError, UpstreamParseError
from tests.helpers import collect_with
from tests.replay import Fault, ReplayServer

PATH = "/messari/metrics/v2/assets/details"


async def test_asset_details_land_as_usd_price_and_key_goes_in_header():
    """marketData of the details answer becomes a BTC USD price; key in X-Messari-API-Key."""
    with ReplayServer() as srv:
        base = srv.mount("messari")
        records = await collect_with(messari.PROVIDER, base, keys=["test-key"])
        (seen,) = [s for s in srv.seen if s.path == PATH]
    assert len(records) == 1
    p = records[0]
    assert (p.symbol, p.quote) == ("BTC", "USD")
    assert p.price_usd == pytest.approx(83489.83024973852)
    assert p.market_cap == pytest.approx(1651240117533)
    assert p.volume_24h == pytest.approx(14763167148.901848)
    assert p.price_change_24h == pytest.approx(0.24334394850368413)
    headers = {k.lower(): v for k, v in seen.headers.items()}
    assert headers["x-messari-api-key"] == "test-key"
    assert seen.query["slugs"] == ["bitcoin,ethereum,binance-coin,solana,xrp"]


async def test_wrong_shape_is_a_parse_error():
    """A data member that is an object instead of a list is a parse error, not rows."""
    with ReplayServer() as srv:
        base = srv.mount("messari")
        srv.fault(PATH, Fault(body=b'{"error": null, "data": {"slug": "bitcoin"}}'))
        with pytest.raises(UpstreamParseError):
            await collect_with(messari.PROVIDER, base, keys=["test-key"])


async def test_error_member_is_raised_not_empty():
    """A non-null 'error' in the envelope raises an upstream error instead of no rows."""
    with ReplayServer() as srv:
        base = srv.mount("messari")
        srv.fault(PATH, Fault(body=b'{"error": "invalid asset identifiers", "data": null}'))
        with pytest.raises(UpstreamHTTPError):
            await collect_with(messari.PROVIDER, base, keys=["test-key"])


async def test_without_key_the_provider_is_not_called():
    """With no MESSARI_KEY configured the call is refused as needs_key."""
    with ReplayServer() as srv:
        base = srv.mount("messari")
        with pytest.raises(MissingKey):
            await collect_with(messari.PROVIDER, base)
        assert srv.count("/messari") == 0
