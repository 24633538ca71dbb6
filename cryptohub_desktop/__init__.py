"""Crypto Hub Desktop: watch the crypto market through 40+ public providers."""

__version__ = "0.1.0"
