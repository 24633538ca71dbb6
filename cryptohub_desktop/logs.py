"""Logging: rotated files in ``<data>/logs/`` with every key masked.

Files: ``main.log`` (everything), ``health.log`` (provider health and
attempts), ``scheduler.log`` (schedule and compliance), ``error.log`` (errors
with tracebacks). A :class:`MaskFilter` on every handler replaces known key
values and anything that looks like ``apikey=...`` / ``Bearer ...``.
"""

from __future__ import annotations

import logging
import logging.handlers
from collections.abc import Callable, Iterable
from pathlib import Path

from cryptohub_desktop.core.masking import scrub

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class MaskFilter(logging.Filter):
    """Masks secrets in log records.

    Args:
        known: a callable giving the secret values in use (read at each record).
    """

    def __init__(self, known: Callable[[], Iterable[str]] = lambda: ()) -> None:
        super().__init__()
        self._known = known

    def scrub(self, text: str) -> str:
        # a copy: another thread may add a key meanwhile
        return scrub(text, tuple(self._known()))

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        scrubbed = self.scrub(message)
        if scrubbed != message or record.args:
            record.msg, record.args = scrubbed, None
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        return True


class _Only(logging.Filter):
    def __init__(self, *prefixes: str) -> None:
        super().__init__()
        self._prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name.startswith(self._prefixes)


def setup_logging(data_dir: Path | None, level: str = "INFO",
                  known_secrets: Callable[[], Iterable[str]] = lambda: (),
                  console: bool = True, max_bytes: int = 5_000_000,
                  backups: int = 5) -> MaskFilter:
    """Configure the root logger once for the process; returns the mask filter."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_cryptohub", False):
            root.removeHandler(h)
            h.close()
    root.setLevel(logging.DEBUG)
    masker = MaskFilter(known_secrets)
    fmt = logging.Formatter(FORMAT)
    handlers: list[logging.Handler] = []
    if data_dir is not None:
        logs = data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)

        def rotating(name: str, lvl: int, only: _Only | None = None) -> logging.Handler:
            h = logging.handlers.RotatingFileHandler(logs / name, maxBytes=max_bytes,
                                                     backupCount=backups, encoding="utf-8")
            h.setLevel(lvl)
            if only:
                h.addFilter(only)
            return h

        handlers += [
            rotating("main.log", getattr(logging, level)),
            rotating("health.log", logging.DEBUG, _Only("cryptohub.health", "cryptohub.upstream",
                                                        "cryptohub.pools")),
            rotating("scheduler.log", logging.DEBUG, _Only("cryptohub.scheduler", "apscheduler")),
            rotating("error.log", logging.ERROR),
        ]
    if console:
        c = logging.StreamHandler()
        c.setLevel(max(getattr(logging, level), logging.WARNING) if data_dir else
                   getattr(logging, level))
        handlers.append(c)
    for h in handlers:
        h.setFormatter(fmt)
        h.addFilter(masker)
        h._cryptohub = True  # type: ignore[attr-defined]
        root.addHandler(h)
    for noisy in ("httpx", "httpcore", "websockets", "asyncio", "peewee"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.INFO)
    return masker
