"""Configuration: defaults, overrides and one-line errors naming the key."""

import pytest

from cryptohub_desktop.config import interval_to_seconds, load_config
from cryptohub_desktop.core.errors import ConfigError


def test_no_file_gives_working_defaults(tmp_path, monkeypatch):
    """With no config file every value has its SPEC default."""
    monkeypatch.delenv("CRYPTOHUB_DATA_DIR", raising=False)
    monkeypatch.setenv("CRYPTOHUB_CONFIG", str(tmp_path / "absent.toml"))
    cfg = load_config(None, data_dir=tmp_path)
    assert cfg.server.host == "127.0.0.1" and cfg.server.port == 7860 and cfg.server.enabled
    assert cfg.schedule["news"] == "every_10_min"
    assert cfg.retention_days == 90
    assert cfg.watchlist == ["BTC", "ETH", "BNB", "SOL", "XRP"]
    assert cfg.database_url == f"sqlite:///{tmp_path}/api_monitor.db"


def test_provider_interval_overrides_category(tmp_path):
    """[providers.ID] interval wins over the category's interval."""
    p = tmp_path / "c.toml"
    p.write_text('[providers.coingecko]\ninterval = "every_2_min"\n'
                 '[schedule]\nmarket_data = "every_30_sec"\n')
    cfg = load_config(p, data_dir=tmp_path)
    assert cfg.interval_seconds("coingecko", "market_data") == 120
    assert cfg.interval_seconds("binance", "market_data") == 30


@pytest.mark.parametrize(("text", "needle"), [
    ('[server]\nport = "abc"', "[server] port"),
    ('[server]\nport = 70000', "[server] port"),
    ('[schedule]\nnews = "sometimes"', "[schedule] news"),
    ('[sever]\nport = 1', "unknown key 'sever'"),
    ('[retention]\ndays = -1', "[retention] days"),
    ('[providers.nosuch]\nenabled = true', "unknown provider id 'nosuch'"),
    ('[providers.coingecko]\nbase_url = "ftp://x"', "base_url"),
    ('[watchlist]\nsymbols = ["BTC", "not a symbol"]', "[watchlist] symbols"),
    ("this is = = not toml", "not valid TOML"),
])
def test_bad_values_name_the_key(tmp_path, text, needle):
    """A wrong value raises ConfigError with a one-line message naming the key."""
    p = tmp_path / "c.toml"
    p.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(p, data_dir=tmp_path, known_providers={"coingecko"})
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_command_line_overrides_win(tmp_path):
    """--port and --host override the file."""
    p = tmp_path / "c.toml"
    p.write_text("[server]\nport = 9000\n")
    cfg = load_config(p, data_dir=tmp_path, overrides={"server.port": 9100,
                                                       "server.host": "::1"})
    assert (cfg.server.port, cfg.server.host) == (9100, "::1")


def test_interval_names():
    """The seed's interval names and their variants parse to seconds."""
    assert interval_to_seconds("every_1_min") == 60
    assert interval_to_seconds("every_30_sec") == 30
    assert interval_to_seconds("every_6_hours") == 21600
    with pytest.raises(ConfigError):
        interval_to_seconds("every_0_min")


def write(folder, text):
    path = folder / "c.toml"
    path.write_text(text)
    return path


def test_cluster_section_is_read_and_checked(tmp_path, monkeypatch):
    """[cluster] gives redis_url, instance_id (default host-port), TTL and trusted
    proxies; a SQLite database with a cluster and bad values are one-line errors."""
    monkeypatch.delenv("CRYPTOHUB_REDIS_URL", raising=False)
    pg = '[database]\nurl = "postgresql://hub@127.0.0.1:5432/cryptohub"\n'
    cfg = load_config(write(tmp_path, pg + '[cluster]\nredis_url = "redis://127.0.0.1:6379/0"\n'
                            'lease_ttl_seconds = 3\ntrusted_proxies = ["127.0.0.1", '
                            '"10.0.0.0/8"]\n'), data_dir=tmp_path)
    assert cfg.cluster.enabled and cfg.cluster.lease_ttl_seconds == 3.0
    assert cfg.cluster.instance_id.endswith("-7860")
    assert cfg.cluster.trusted_proxies == ["127.0.0.1", "10.0.0.0/8"]
    assert not load_config(write(tmp_path, ""), data_dir=tmp_path).cluster.enabled
    bad = {
        '[cluster]\nredis_url = "redis://x"\n': "needs a PostgreSQL [database] url",
        pg + '[cluster]\nredis_url = "http://x"\n': "[cluster] redis_url must be a Redis URL",
        pg + '[cluster]\nlease_ttl_seconds = 0\n': "lease_ttl_seconds must be 1-600",
        pg + '[cluster]\ntrusted_proxies = ["nope"]\n': "'nope' is not an address",
        pg + '[cluster]\nredis = "x"\n': "[cluster]: unknown key 'redis'",
    }
    for text, message in bad.items():
        with pytest.raises(ConfigError) as err:
            load_config(write(tmp_path, text), data_dir=tmp_path)
        assert message in str(err.value) and "\n" not in str(err.value)
    monkeypatch.setenv("CRYPTOHUB_REDIS_URL", "redis://10.1.2.3:6379/1")
    cfg = load_config(write(tmp_path, pg), data_dir=tmp_path)
    assert cfg.cluster.redis_url == "redis://10.1.2.3:6379/1"


def test_provider_rate_limit_replaces_the_documented_limits(tmp_path):
    """[providers.X] rate_limit takes "10/10s" or a list of such; bad ones name the key."""
    from cryptohub_desktop.providers.spec import RateLimit
    cfg = load_config(write(tmp_path, '[providers.binance]\nrate_limit = "10/10s"\n'
                            '[providers.kraken]\nrate_limit = ["1/s", "300/5min", "100/day", '
                            '"10000/month"]\n'), data_dir=tmp_path)
    assert cfg.provider("binance").rate_limits == (RateLimit(10, 10),)
    assert cfg.provider("kraken").rate_limits == (RateLimit(1, 1), RateLimit(300, 300),
                                                  RateLimit(100, 86400),
                                                  RateLimit(10000, 2592000))
    assert cfg.provider("coingecko").rate_limits is None
    for bad in ('"10 per second"', '"0/s"', '"5/0s"', "[]", "7"):
        with pytest.raises(ConfigError) as err:
            load_config(write(tmp_path, f"[providers.binance]\nrate_limit = {bad}\n"),
                        data_dir=tmp_path)
        assert "[providers.binance] rate_limit" in str(err.value)
