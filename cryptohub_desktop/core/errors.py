"""Exceptions of the engine.

Hierarchy::

    HubError                      base of everything the engine raises on purpose
    ├── UserError                 the user can fix it: one-line message, no traceback
    │   ├── ConfigError           a bad config file, option or environment value
    │   └── StoreError            database cannot be opened / written (disk full, read-only)
    └── UpstreamError             one call to a provider failed; ``error_type`` names why
        ├── UpstreamTimeout       error_type "timeout"
        ├── UpstreamConnection    error_type "connection_error"
        ├── UpstreamHTTPError     error_type "http_4xx" or "http_5xx"
        ├── UpstreamRateLimited   error_type "rate_limited" (429 or our own limiter)
        └── UpstreamParseError    error_type "parse_error" (bad JSON, wrong shape, too big)
"""

from __future__ import annotations


class HubError(Exception):
    """Base of the engine's own exceptions."""


class UserError(HubError):
    """Something the user can fix; shown as one line, never as a traceback."""


class ConfigError(UserError):
    """A configuration value, file or command-line option is wrong."""


class StoreError(UserError):
    """The database cannot be opened or written."""


class UpstreamError(HubError):
    """A call to a provider failed.

    Attributes:
        error_type: one of timeout, connection_error, http_4xx, http_5xx,
            rate_limited, parse_error, needs_key.
        status: the HTTP status, when there was one.
    """

    error_type = "connection_error"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class UpstreamTimeout(UpstreamError):
    error_type = "timeout"


class UpstreamConnection(UpstreamError):
    error_type = "connection_error"


class UpstreamHTTPError(UpstreamError):
    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message, status=status)
        self.error_type = "http_5xx" if (status or 500) >= 500 else "http_4xx"


class UpstreamRateLimited(UpstreamError):
    """Rate limited by the provider (429) or by our own limiter before sending.

    Attributes:
        retry_after: seconds to wait before the next call, when known.
    """

    error_type = "rate_limited"

    def __init__(self, message: str, *, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class UpstreamParseError(UpstreamError):
    error_type = "parse_error"


class MissingKey(UpstreamError):
    """The provider needs a key that is not configured; it is not called."""

    error_type = "needs_key"
