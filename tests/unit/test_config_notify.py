"""[notify.channels.NAME] in the config: defaults and one-line errors naming the key."""

import pytest

from cryptohub_desktop.config import NOTIFY_KINDS, load_config
from cryptohub_desktop.core.errors import ConfigError


def test_spec_example_channel_parses(tmp_path):
    """The SPEC section 4 example channel is read with every key."""
    p = tmp_path / "c.toml"
    p.write_text('[notify.channels.ops]\nurl = "json://hooks.example.org/cryptohub"\n'
                 'kinds = ["price_rule", "provider_down", "quota", "staleness", "divergence", '
                 '"instance_lost"]\nmin_severity = "warning"\nquiet_hours = "22:00-07:00"\n')
    ch = load_config(p, data_dir=tmp_path).notify_channels["ops"]
    assert ch.url == "json://hooks.example.org/cryptohub"
    assert ch.kinds == NOTIFY_KINDS and ch.min_severity == "warning"
    assert ch.quiet_hours == (22 * 60, 7 * 60) and ch.quiet_hours_text == "22:00-07:00"


def test_channel_defaults_and_no_channels(tmp_path):
    """Only url is required: all kinds, min_severity warning, no quiet hours; no [notify]
    means no channels."""
    p = tmp_path / "c.toml"
    p.write_text('[notify.channels.tg]\nurl = "tgram://{TG_BOT_TOKEN}/12345"\n'
                 '[notify.channels.mail]\nurl = "mailto://u:{SMTP_PASSWORD}@smtp.x.org"\n'
                 'kinds = ["staleness", "quota"]\n')
    chans = load_config(p, data_dir=tmp_path).notify_channels
    assert list(chans) == ["tg", "mail"]
    assert chans["tg"].kinds == NOTIFY_KINDS and chans["tg"].min_severity == "warning"
    assert chans["tg"].quiet_hours is None
    assert chans["mail"].kinds == ("quota", "staleness")  # SPEC order
    empty = tmp_path / "e.toml"
    empty.write_text("")
    assert load_config(empty, data_dir=tmp_path).notify_channels == {}


@pytest.mark.parametrize(("text", "needle"), [
    ('[notify]\nchanels = 1', "[notify]: unknown key 'chanels'"),
    ('[notify.channels.ops]\nurl = "json://h"\nkind = ["quota"]',
     "[notify.channels.ops]: unknown key 'kind'"),
    ('[notify.channels.ops]\nkinds = ["quota"]', "[notify.channels.ops] url is required"),
    ('[notify.channels.ops]\nurl = "hooks.example.org"', "[notify.channels.ops] url"),
    ('[notify.channels.ops]\nurl = 5', "[notify.channels.ops] url must be a string"),
    ('[notify.channels.ops]\nurl = "tgram://{tg_token}/1"', "placeholder {tg_token}"),
    ('[notify.channels.ops]\nurl = "json://h"\nkinds = ["price"]', "unknown kind 'price'"),
    ('[notify.channels.ops]\nurl = "json://h"\nkinds = []', "kinds must name at least one"),
    ('[notify.channels.ops]\nurl = "json://h"\nkinds = "quota"', "kinds must be a list"),
    ('[notify.channels.ops]\nurl = "json://h"\nmin_severity = "error"',
     "[notify.channels.ops] min_severity"),
    ('[notify.channels.ops]\nurl = "json://h"\nquiet_hours = "10pm-7am"',
     "[notify.channels.ops] quiet_hours must be local times"),
    ('[notify.channels.ops]\nurl = "json://h"\nquiet_hours = "22:00-22:00"',
     "start and end are the same"),
    ('[notify.channels."my ops"]\nurl = "json://h"', "[notify.channels.my ops]: a channel name"),
    ('[notify.channels]\nops = "json://h"', "[notify.channels.ops] must be"),
])
def test_bad_notify_values_give_one_line_errors(tmp_path, text, needle):
    """Each mistake in [notify] is a one-line ConfigError naming the key."""
    p = tmp_path / "c.toml"
    p.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(p, data_dir=tmp_path)
    assert needle in str(err.value) and "\n" not in str(err.value)
