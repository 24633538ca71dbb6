"""The timings of a live stream (SPEC sections 4 and 14), defined once.

The WebSocket door (:mod:`cryptohub_desktop.providers.stream`) runs on them and the
configuration's ``[streams]`` table (``config.StreamsConfig``) is one of them plus
``enabled``; both layers import this module, so the fields and their defaults exist in
one place only.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StreamSettings:
    """The ``[streams]`` timings of SPEC section 4 (defaults are the SPEC's); the
    configuration's ``StreamsConfig`` is one of these plus ``enabled``.

    ``rest_fallback_after_seconds`` is not used by the door itself: the engine reads it
    to start the REST collector when a stream has been silent that long.
    """

    stale_after_seconds: float = 15.0
    ping_interval_seconds: float = 20.0
    pong_timeout_seconds: float = 10.0
    reconnect_initial_seconds: float = 1.0
    reconnect_max_seconds: float = 60.0
    max_connects_per_5min: int = 20
    rest_fallback_after_seconds: float = 20.0
