"""[database] url and CRYPTOHUB_DATABASE_URL: the environment wins, bad URLs are one line
that never echoes a password."""

import pytest

from cryptohub_desktop.config import load_config
from cryptohub_desktop.core.errors import ConfigError


def config(tmp_path, text: str):
    path = tmp_path / "c.toml"
    path.write_text(text)
    return load_config(path, data_dir=tmp_path)


def test_the_environment_wins_over_the_file(tmp_path, monkeypatch):
    """CRYPTOHUB_DATABASE_URL replaces [database] url; without it the file's URL is used."""
    text = '[database]\nurl = "postgresql://hub@file-host:5432/cryptohub"\n'
    assert config(tmp_path, text).database_url == "postgresql://hub@file-host:5432/cryptohub"
    monkeypatch.setenv("CRYPTOHUB_DATABASE_URL", "postgres://hub@env-host/team")
    assert config(tmp_path, text).database_url == "postgres://hub@env-host/team"
    assert config(tmp_path, "").database_url == "postgres://hub@env-host/team"


@pytest.mark.parametrize(("url", "needle"), [
    ("mysql://root:hunter22@h/db", "must be sqlite:///path or postgresql://user@host/database"
                                   " (not mysql://)"),
    ("just-a-path.db", "must be sqlite:///path"),
    ("postgresql://hub:hunter22@h:5432", "names no database"),
    ("sqlite:///", "needs a file path"),
    ("postgresql://hub:{db_password}@h/x", "placeholder {db_password} must be an entry name"),
])
def test_bad_urls_are_one_line_without_the_password(tmp_path, url, needle):
    """A URL of another database, without a database name, or with a bad placeholder:
    one line naming the key, and never the password."""
    with pytest.raises(ConfigError) as err:
        config(tmp_path, f'[database]\nurl = "{url}"\n')
    assert needle in str(err.value) and "hunter22" not in str(err.value)
    assert str(err.value).startswith("[database] url")
