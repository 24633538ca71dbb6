"""How a secret is shown, and how secrets are found and masked in text.

The one masking function of the product: logs, server answers, upstream error
messages and stored failure texts all go through :func:`scrub`.

Example::

    mask("abcd1234efgh5678")                        # 'abcd…5678'
    scrub("GET /x?apikey=abcd1234efgh5678", ())     # known values and key=... masked
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: Text that carries a secret whatever its value: ``apikey=...``, ``Bearer ...`` ...
PATTERNS = (
    re.compile(r"(?i)((?:api[_-]?key|apikey|auth_token|token|access_token|key|password)=)"
               r"([^&\s\"']{6,})"),
    re.compile(r"(?i)(bearer\s+)([A-Za-z0-9._\-+/=]{8,})"),
    re.compile(r"(?i)(x-cmc_pro_api_key['\"]?\s*[:=]\s*['\"]?)([A-Za-z0-9\-]{8,})"),
    re.compile(r"(/v3/|/v2/)([0-9a-fA-F]{32}|[A-Za-z0-9_\-]{32})(?=[/\s\"']|$)"),
    re.compile(r"(://[^/\s:@?#]+:)([^@\s/?#]+)(?=@)"),  # user:password@ in a URL
)
MIN_KNOWN = 4


def mask(value: str | None) -> str:
    """A secret as it may be shown: ``abcd…wxyz`` for long ones, ``****`` for short ones."""
    if not value:
        return ""
    if len(value) < 12:
        return "****"
    return f"{value[:4]}…{value[-4:]}"


def scrub(text: str, known: Iterable[str] = (), *, patterns: bool = True) -> str:
    """``text`` with every ``known`` secret value masked and, with ``patterns``, anything
    that looks like a secret (``key=...``, ``Bearer ...``, a URL password).

    Longer known values are masked first, so a key that contains another is masked whole.
    ``patterns=False`` is for data answers (news texts carry URLs with ``key=`` of their
    own); known values are masked everywhere.
    """
    for value in sorted({v for v in known if v and len(v) >= MIN_KNOWN}, key=len, reverse=True):
        if value in text:
            text = text.replace(value, mask(value))
    if patterns:
        for pat in PATTERNS:
            text = pat.sub(lambda m: m.group(1) + mask(m.group(2)), text)
    return text
