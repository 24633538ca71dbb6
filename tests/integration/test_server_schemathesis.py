"""Property-based API testing with schemathesis against the live loopback server: every
operation of /openapi.json, with generated valid and invalid query parameters, answers
in its documented statuses, content types and response schemas, never a 5xx."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cryptohub_desktop.api.local import LocalApi
from cryptohub_desktop.core.records import Candle, WhaleTx
from cryptohub_desktop.server import start_server
from tests.conftest import SLOW

schemathesis = pytest.importorskip("schemathesis")
hypothesis = pytest.importorskip("hypothesis")

EXAMPLES = 100  # per operation and mode: about 1,200 cases, 15 s here
SERVED = ("coingecko", "binance", "alternative_me", "cryptocompare_news", "mempool_space",
             "publicnode_eth", "llamarpc", "defillama")


def _catalogue(*ids: str) -> list[Any]:
    from cryptohub_desktop.collectors import PROVIDERS
    by_id = {p.id: p for p in PROVIDERS}
    return [by_id[i] for i in ids if i in by_id]


def _start_after_end(query: dict[str, Any] | None) -> bool:
    from cryptohub_desktop.server.params import parse_time
    try:
        return parse_time(str(query["start"])) > parse_time(str(query["end"]))
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return False


def run_operation(op: Any, mode: Any, base: str, examples: int) -> int:
    """Run ``examples`` generated cases of one operation; returns how many ran.

    Raises:
        Exception: schemathesis' failure report for the first failing case.
    """
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis import GenerationMode

    ran = 0
    positive = mode is GenerationMode.POSITIVE

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=op.as_strategy(generation_mode=mode))
    def check(case: Any) -> None:
        nonlocal ran
        ran += 1
        if positive and _start_after_end(case.query):
            # a rule across two parameters that a schema cannot state: 400
            r = case.call(base_url=base, timeout=10 * SLOW)
            assert r.status_code == 400 and "start must not be after end" in r.text
            return
        case.call_and_validate(base_url=base, timeout=10 * SLOW)

    check()
    return ran


def fuzz(base: str, examples: int) -> tuple[int, list[str]]:
    """Run every operation's positive and negative cases; (cases run, failure reports)."""
    from schemathesis import GenerationMode

    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    failures: list[str] = []
    ran = 0
    for result in schema.get_all_operations():
        op = result.ok()
        modes = [GenerationMode.POSITIVE]
        if op.definition.raw.get("parameters"):
            modes.append(GenerationMode.NEGATIVE)
        for mode in modes:
            try:
                ran += run_operation(op, mode, base, examples)
            except Exception as exc:  # noqa: BLE001 - collect every operation's failures
                failures.append(f"{op.label} [{mode.value}]: {exc}")
    return ran, failures


async def test_schemathesis_finds_no_failures(make_hub):
    """schemathesis' positive and negative cases for every operation find no failure."""
    hub = await make_hub(_catalogue(*SERVED),
                         extra="[server]\nrate_limit_per_minute = 1000000\n")
    await hub.runner.collect_once()
    t0 = datetime(2024, 5, 1, tzinfo=UTC)
    await hub.store.write(hub.store.insert_candles, "coingecko", [
        Candle("BTC", "1h", t0 + timedelta(hours=i), 1, 2, 0.5, 1.5, 10) for i in range(30)])
    await hub.store.write(hub.store.insert_records, "btc_whales", [
        WhaleTx("bitcoin", "h1", t0, 12.5, "BTC", amount_usd=8e5)])
    await hub.alerts.fire("test", "info", "fuzzing")
    await hub.settle()
    handle = await start_server(LocalApi(hub), dataclasses.replace(hub.config.server, port=0), hub.secrets)
    try:
        ran, failures = await asyncio.wait_for(
            asyncio.to_thread(fuzz, f"http://127.0.0.1:{handle.port}", EXAMPLES), 300 * SLOW)
    finally:
        await handle.close()
    assert not failures, "\n\n".join(failures)
    assert ran >= 10 * EXAMPLES  # operations without parameters exhaust after one case
