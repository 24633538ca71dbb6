"""A headless `serve` delivers its alerts: a price rule crossing reaches a webhook once."""

from __future__ import annotations

import signal
import subprocess
import time

from tests.conftest import SLOW
from tests.e2e.test_cli import CMD, _env, _free_port
from tests.integration.receivers import WebhookReceiver
from tests.replay import ReplayServer

MARKET = ("coingecko", "binance", "kraken")


def test_a_price_rule_crossing_is_delivered_once_to_the_webhook(tmp_path):
    """serve with [alerts] price_rules and a json:// channel: the replayed BTC price
    crosses the rule and the webhook receives one message naming symbol, price, rule
    and time, and nothing more for the repeats of the next collections."""
    with ReplayServer() as srv, WebhookReceiver() as hook:
        lines = ["[consensus]", "max_age_seconds = 2000000000", "",
                 "[schedule]", 'market_data = "every_5_sec"', "",
                 "[alerts]", 'price_rules = ["BTC above 1000"]', "",
                 "[notify.channels.hook]", f'url = "{hook.url("/cryptohub")}"',
                 'kinds = ["price_rule"]', ""]
        for pid in MARKET:
            lines += [f"[providers.{pid}]", f'base_url = "{srv.mount(pid)}"', ""]
        cfg = tmp_path / "c.toml"
        cfg.write_text("\n".join(lines))
        env = _env()
        proc = subprocess.Popen([*CMD, "serve", "--port", str(_free_port()), "--data-dir",
                                 str(tmp_path / "d"), "--config", str(cfg)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env)
        try:
            deadline = time.monotonic() + 40 * SLOW
            while not hook.at("/cryptohub"):
                assert proc.poll() is None, proc.communicate(timeout=5)
                assert time.monotonic() < deadline, "no delivery"
                time.sleep(0.2)
            time.sleep(12 * SLOW)  # two more collections: the rule stays crossed, no repeat
        finally:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=20)
    hits = hook.at("/cryptohub")
    assert len(hits) == 1, [h.body for h in hits]
    text = f"{hits[0].body.get('title', '')} {hits[0].body.get('message', '')}"
    assert "BTC above 1,000" in text
    assert "consensus price of BTC is" in text and " UTC" in text
    assert proc.returncode == 0, err
