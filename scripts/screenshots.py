"""Grab the README's screenshots (and, with ``--review``, every dock at every screen size) to PNG.

    python scripts/screenshots.py docs                       # what `make screenshot` runs
    python scripts/screenshots.py /tmp/look --review          # every dock at 1280x720 and 1920x1080

Each screen size runs in its own process on Qt's offscreen platform with a screen of that size, on the
built-in demo stage with its emulators, a fresh window layout and a temporary data folder: nothing of
the machine (its settings, its takes, its paths) shows in a picture.  The stage runs a cue and records
two short takes first, so that the plots, the Lighting dock and the Takes dock have something to show.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SIZES = ((1280, 720), (1920, 1080))
#: The docs' pictures: file name -> (screen size, what is raised).  "window" is the whole first layout;
#: "export" and "conform" are those dialogs (the conform one for docs/conform.md, at 1280x720).
README_SHOTS = {
    "screenshot.png": ((1920, 1080), "window"),
    "screenshot-lens.png": ((1920, 1080), "lens"),
    "screenshot-lighting.png": ((1920, 1080), "lighting"),
    "screenshot-takes.png": ((1920, 1080), "takes"),
    "screenshot-export.png": ((1920, 1080), "export"),
    "screenshot-conform.png": ((1280, 720), "conform"),
}
DOCKS = ("stage", "tracking", "lens", "frustum", "lighting", "takes", "log")


def screen_config(folder: Path, width: int, height: int) -> str:
    """Write an offscreen-platform config with one screen of ``width`` x ``height``; the platform string."""
    path = folder / f"screen-{width}x{height}.json"
    screen = {"name": "stage", "x": 0, "y": 0, "width": width, "height": height,
              "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}
    config = {"synthesizedFocusEvents": True, "windowFrameMargins": False, "screens": [screen]}
    path.write_text(json.dumps(config))
    return f"offscreen:configfile={path}"


def run_size(out: Path, width: int, height: int, shots: list[tuple[str, str]]) -> int:
    """Spawn one process grabbing ``shots`` ((file name, what)) on a ``width`` x ``height`` screen."""
    with tempfile.TemporaryDirectory(prefix="stagectl-shots-") as tmp:
        folder = Path(tmp)
        env = dict(os.environ, QT_QPA_PLATFORM=screen_config(folder, width, height),
                   STAGECTL_SETTINGS_DIR=str(folder / "settings"), STAGECTL_DATA_DIR=str(folder / "data"))
        command = [sys.executable, __file__, str(out), "--child", json.dumps(shots)]
        return subprocess.call(command, env=env, cwd=folder)


def child(out: Path, shots: list[tuple[str, str]]) -> int:
    """In the offscreen process: run the demo stage, show the window, grab each shot."""
    sys.path.insert(0, str(REPO))
    from PySide6.QtWidgets import QApplication

    from stagectl.config.load import default_stage
    from stagectl.stage.runner import StageRunner
    from ui.app import ensure_app, open_settings
    from ui.main_window import MainWindow
    from ui.panels.export_dialog import ExportDialog

    app = ensure_app()
    runner = StageRunner(default_stage())
    window = MainWindow(runner.views, runner.commands, open_settings())
    window.show()

    def wait(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    def settle(future: object) -> None:
        while not future.done():  # type: ignore[attr-defined]
            wait(0.05)

    wait(2.0)
    window.log_panel.view.clear()  # the start-up lines name this machine's temporary folders
    for scene, shot in (("12", "A"), ("12", "B")):
        settle(runner.commands.set_slate(production="Night Shoot", scene=scene, shot=shot))
        settle(runner.commands.record())
        wait(1.5)
        settle(runner.commands.stop_take())
    settle(runner.commands.cue_go())
    settle(runner.commands.cue_go())
    wait(3.0)
    window.takes_browser.refresh()
    wait(1.0)
    failures = 0
    for name, what in shots:
        if what == "export":
            browser = window.takes_browser
            takes = sorted((row.info.take_id, row.info.name) for row in browser.rows)
            dialog = ExportDialog(browser.folder, takes, window.commands, window)
            dialog.show()
            wait(0.5)
            dialog.start_export()
            while dialog.running:
                wait(0.1)
            wait(0.3)
            image = dialog.grab()
            dialog.close()
        elif what == "conform":
            image = conform_shot(window, wait)
        else:
            if what == "maximised":
                window.showMaximized()
            elif what != "window":
                getattr(window, f"{what}_dock").raise_()
            if what == "takes" and window.takes_browser.visible_ids():
                window.takes_browser.select_take(window.takes_browser.visible_ids()[0])
            wait(1.5)
            image = window.grab()
        path = out / name
        if image.save(str(path), "PNG"):
            print(f"saved {path} ({image.width()}x{image.height()})", file=sys.stderr)
        else:
            print(f"could not write {path}", file=sys.stderr)
            failures += 1
    window.close()
    runner.close()
    QApplication.processEvents()
    return 1 if failures else 0


def conform_shot(window: Any, wait: Callable[[float], None]) -> Any:
    """The Conform dialog after matching a day's clips (a CSV) to the two takes and conforming them."""

    browser = window.takes_browser
    takes = sorted((row.info for row in browser.rows), key=lambda info: info.take_id)
    first, second = takes[0].tc_in, takes[-1].tc_in
    clips = [("A001C007_0412", "A", first + 4, 28), ("B001C007_0412", "B", first + 4, 28),
             ("A001C008_0413", "A", second - 6, 30), ("B001C008_0413", "B", second + 4, 24),
             ("C001C001_0414", "C", second + 4, 12), ("A001C009_0415", "A", first - 90_000, 48)]
    path = Path("day1_clips.csv").resolve()
    lines = ["clip,camera,start TC,end TC,fps"]
    lines += [f"{name},{camera},{start},{start + frames},23.976" for name, camera, start, frames in clips]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    browser.open_conform()
    dialog = browser.conform_dialog
    dialog.source_edit.setText(str(path))
    dialog.out_edit.setText(str(Path("conform/day1").resolve()))
    dialog.start_match()
    while dialog.table.rowCount() == 0 and not dialog.message.text().startswith("cannot"):
        wait(0.1)
    dialog.start_conform()
    while dialog.running:
        wait(0.1)
    wait(0.3)
    image = dialog.grab()
    dialog.close()
    return image


def main(argv: list[str] | None = None) -> int:
    """Grab the README's screenshots into OUT, or every dock at every size with ``--review``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the PNG files")
    parser.add_argument("--review", action="store_true", help="every dock at 1280x720 and 1920x1080")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    if args.child is not None:
        return child(out, [tuple(s) for s in json.loads(args.child)])
    plan: dict[tuple[int, int], list[tuple[str, str]]] = {}
    if args.review:
        for width, height in SIZES:
            plan[(width, height)] = [(f"{width}x{height}-{what}.png", what)
                                     for what in ("window", *DOCKS, "export", "conform", "maximised")]
    else:
        for name, (size, what) in README_SHOTS.items():
            plan.setdefault(size, []).append((name, what))
    code = 0
    for (width, height), shots in plan.items():
        code |= run_size(out, width, height, shots)
    return code


if __name__ == "__main__":
    sys.exit(main())
