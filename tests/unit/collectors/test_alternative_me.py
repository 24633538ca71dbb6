"""alternative.me Fear & Greed collector against its documented answer, replayed over real HTTP."""

from datetime import UTC, datetime

import pytest

from cryptohub_desktop.collectors import alternative_me
from cryptohub_desktop.core.errors import UpstreamHTTPError, UpstreamParseError
from tests.helpers import collect_with
from tests.replay import Fault, ReplayServer


async def test_documented_fng_answer_becomes_fear_greed_metrics():
    """The documented /fng/ answer (string numbers) lands as daily fear_greed_index values."""
    with ReplayServer() as srv:
        base = srv.mount("alternative_me")
        records = await collect_with(alternative_me.PROVIDER, base)
        (seen,) = [s for s in srv.seen if s.path.endswith("/fng/")]
    assert [(r.metric_name, r.value, r.classification) for r in records] == [
        ("fear_greed_index", 40.0, "Fear"),
        ("fear_greed_index", 47.0, "Neutral"),
    ]
    assert records[0].timestamp == datetime.fromtimestamp(1551157200, UTC)
    assert records[1].timestamp == datetime(2019, 2, 25, 5, 0, tzinfo=UTC)
    assert seen.query["limit"] == ["1"]


async def test_wrong_shape_is_a_parse_error():
    """An answer whose data is not a list is a parse error, not a row."""
    with ReplayServer() as srv:
        base = srv.mount("alternative_me")
        srv.fault("/alternative_me/fng/", Fault(body=b'{"name": "x", "data": {"value": "40"}}'))
        with pytest.raises(UpstreamParseError):
            await collect_with(alternative_me.PROVIDER, base)


async def test_value_that_is_not_a_number_is_a_parse_error():
    """A value that is not numeric text is refused instead of stored."""
    body = (
        b'{"data": [{"value": "fearful", "value_classification": "Fear",'
        b' "timestamp": "1551157200"}], "metadata": {"error": null}}'
    )
    with ReplayServer() as srv:
        base = srv.mount("alternative_me")
        srv.fault("/alternative_me/fng/", Fault(body=body))
        with pytest.raises(UpstreamParseError):
            await collect_with(alternative_me.PROVIDER, base)


async def test_metadata_error_inside_200_is_an_upstream_error():
    """A 200 answer carrying metadata.error is reported as an API error, not as no data."""
    with ReplayServer() as srv:
        base = srv.mount("alternative_me")
        srv.fault(
            "/alternative_me/fng/",
            Fault(
                body=b'{"name": "Fear and Greed Index", "data": [],'
                b' "metadata": {"error": "Invalid date format"}}'
            ),
        )
        with pytest.raises(UpstreamHTTPError):
            await collect_with(alternative_me.PROVIDER, base)
