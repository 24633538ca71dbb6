"""PyInstaller entry point: the ``cryptohub-desktop`` command (``cli.main``).

With ``CRYPTOHUB_BUNDLE_SMOKE=1`` the binary instead exercises what ``--self-test``
does not load (Qt offscreen, pyqtgraph, qasync, APScheduler, VADER) and exits 0 when all
work; scripts/build_bundle.sh runs it after the build.
"""

import os
import sys


def smoke() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QT_API", "pyside6")  # qasync must not look for PyQt5
    import asyncio

    import pyqtgraph as pg
    import qasync
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from PySide6.QtWidgets import QApplication
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    app = QApplication(sys.argv[:1])
    plot = pg.PlotWidget()
    plot.plot([1, 3, 2, 4])
    plot.resize(320, 200)
    image = plot.grab().toImage()
    fired: list[int] = []

    async def run() -> None:
        sched = AsyncIOScheduler()
        sched.add_job(lambda: fired.append(1), "interval", seconds=0.2)
        sched.start()
        await asyncio.sleep(0.5)
        sched.shutdown(wait=False)

    loop = qasync.QEventLoop(app)
    with loop:
        loop.run_until_complete(run())
    score = SentimentIntensityAnalyzer().polarity_scores("great gains :)")["compound"]
    ok = image.width() == 320 and bool(fired) and score > 0
    print(
        f"bundle smoke: qt {image.width()}x{image.height()} plot, scheduler fired "
        f"{len(fired)}x, vader {score:+.2f}: {'ok' if ok else 'FAILED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    if os.environ.get("CRYPTOHUB_BUNDLE_SMOKE") == "1":
        sys.exit(smoke())
    from cryptohub_desktop.cli import main

    sys.exit(main())
