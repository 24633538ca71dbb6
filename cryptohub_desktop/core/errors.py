"""Every exception the product raises on purpose.

Hierarchy::

    HubError                        base of everything raised on purpose
    ├── UserError                   the user can fix it: one line, no traceback
    │   ├── ConfigError             a bad config file, option or environment value
    │   └── StoreError              the database cannot be opened or written
    │       ├── StoreFull           the disk is full (nothing stored was lost)
    │       ├── StoreReadOnly       no permission to write the database or its folder
    │       ├── StoreLocked         another process holds the database
    │       ├── StoreUnavailable    the database server cannot be reached
    │       └── StoreCorrupt        the file is damaged or not a database
    ├── FencedOut                   this instance lost a provider's lease: its write is refused
    └── UpstreamError               one call to a provider failed; ``error_type`` says why
        ├── UpstreamTimeout         "timeout"
        ├── UpstreamConnection      "connection_error"
        ├── UpstreamHTTPError       "http_4xx" / "http_5xx"
        ├── UpstreamRateLimited     "rate_limited" (a 429, or our own limiter)
        ├── UpstreamParseError      "parse_error" (bad JSON, wrong shape, too big)
        └── MissingKey              "needs_key": the provider is not called at all

Third-party exceptions (httpx, sqlite3, psycopg, keyring) are translated at the
boundary that calls them (``providers.upstream``, ``storage.backends``, ``secrets``)
into the most specific type here, ``raise Ours(...) from exc``.
"""

from __future__ import annotations


class HubError(Exception):
    """Base of the product's own exceptions."""


class UserError(HubError):
    """Something the user can fix; shown as one line, never as a traceback."""


class ConfigError(UserError):
    """A configuration value, file or command-line option is wrong."""


class StoreError(UserError):
    """The database cannot be opened or written (the transaction was rolled back)."""


class StoreFull(StoreError):
    """The disk (or the database server's disk) is full."""


class StoreReadOnly(StoreError):
    """The database or its folder cannot be written."""


class StoreLocked(StoreError):
    """Another process holds the database."""


class StoreUnavailable(StoreError):
    """The database server cannot be reached (network, server down)."""


class StoreCorrupt(StoreError):
    """The database file is damaged or is not a database."""


class FencedOut(HubError):
    """This team-hub instance no longer holds the provider's lease (another took it over):
    the write of that provider's data was refused and rolled back."""


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
