"""GUI composition root (filled in by the UI work)."""

from cryptohub_desktop.config import Config


def run_gui(cfg: Config) -> int:
    raise SystemExit("the desktop UI is not built yet; use `cryptohub-desktop serve`")
