"""``python -m cryptohub_desktop``: same as the ``cryptohub-desktop`` command."""

from cryptohub_desktop.cli import main

raise SystemExit(main())
