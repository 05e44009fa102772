"""What the window costs: refresh rate, update and paint time per frame, GUI-thread and process CPU.

A stage of ``--cameras`` simulated cameras (default 2 and 8) at ``--hz`` packets a second each (default 500)
runs in a child process of its own, either headless (the baseline: ``stagectl run --headless`` does the
same) or with the window at 1920x1080, on Qt's offscreen platform and under Xvfb (Debian's ``xvfb``; the
bench says so and skips it when ``Xvfb`` is not installed). For each stage the runs go in ABBA order
(headless, window, window, headless, per platform) and the figures are medians over the runs.

Figures of a window run, over ``--seconds`` after ``--warmup``:

* refresh Hz: views drawn per second (the window's update), and repaints per second;
* update ms: the window's handling of one view (every panel's ``update_view``), p50 / p99;
* paint ms: one repaint of the window (Qt's backing-store sync: every dirty widget and plot), p50 / p99, timed
  in the window's own event handler (a repaint request the window holds while it applies a view, and folds
  into the one after it, costs nothing and is not counted);
* GUI-thread CPU (% of one core, ``time.thread_time``) and process CPU (% of one core, ``getrusage``);
* the window's cost: process CPU of the window run minus that of the headless run, in % of one core.

    python bench/gui_frame.py [--cameras 2 8] [--hz 500] [--refresh 30] [--seconds 8] [--runs 2]
                              [--platforms offscreen xvfb] [--json]
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT = 1920, 1080


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _stage_config(folder: Path, cameras: int, hz: int) -> Any:
    from tests.support.stagefile import StageFile

    stage = StageFile(name=f"bench {cameras} x {hz} Hz", frame_rate=25)
    for index in range(cameras):
        stage.source(f"cam{index + 1}", "simulator", camera_id=index + 1, rate_hz=hz)
    return stage.config(folder)


def child_headless(cameras: int, hz: int, warmup_s: float, seconds: float) -> dict[str, Any]:
    """The stage alone, as ``stagectl run --headless`` runs it."""
    from stagectl.app import run_headless
    from stagectl.stage.runner import StageRunner

    # As `stagectl run --headless` builds it: without views to publish where the runner offers that.
    quiet = {"publish_views": False} if "publish_views" in inspect.signature(StageRunner).parameters else {}
    with tempfile.TemporaryDirectory(prefix="stagectl-gui-bench-") as tmp:
        runner = StageRunner(_stage_config(Path(tmp), cameras, hz), **quiet)
        try:
            run_headless(runner, warmup_s, False)
            cpu0, wall0 = _cpu_s(), time.monotonic()
            run_headless(runner, seconds, False)
            cpu, wall = _cpu_s() - cpu0, time.monotonic() - wall0
            samples = runner.views.latest.total_samples
        finally:
            runner.close()
    return {"process_cpu_pct": 100.0 * cpu / wall, "samples": samples}


def child_window(cameras: int, hz: int, warmup_s: float, seconds: float, refresh_hz: int) -> dict[str, Any]:
    """The stage and its window at 1920x1080; the window's update and paint timed per frame."""
    from PySide6.QtCore import QEvent, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from stagectl.stage.runner import StageRunner
    from stagectl.stage.view import StageView
    from ui.app import ensure_app
    from ui.main_window import MainWindow

    update_ms: list[float] = []
    paint_ms: list[float] = []
    update_cpu_ms: list[float] = []
    paint_cpu_ms: list[float] = []

    class TimedWindow(MainWindow):
        def _on_view(self, view: StageView) -> None:
            t0, c0 = time.perf_counter(), time.thread_time()
            super()._on_view(view)
            update_ms.append((time.perf_counter() - t0) * 1e3)
            update_cpu_ms.append((time.thread_time() - c0) * 1e3)

        def event(self, event: QEvent) -> bool:
            """Times each repaint the window lets through (Qt's backing-store sync of the whole window)."""
            if event.type() != QEvent.Type.UpdateRequest:
                return super().event(event)
            t0, c0 = time.perf_counter(), time.thread_time()
            handled = super().event(event)
            paint_ms.append((time.perf_counter() - t0) * 1e3)
            paint_cpu_ms.append((time.thread_time() - c0) * 1e3)
            return bool(handled)

    app = ensure_app()
    with tempfile.TemporaryDirectory(prefix="stagectl-gui-bench-") as tmp:
        folder = Path(tmp)
        settings = QSettings(str(folder / "window.ini"), QSettings.Format.IniFormat)
        if refresh_hz != 30:
            settings.setValue("window/refresh_hz", refresh_hz)
        runner = StageRunner(_stage_config(folder, cameras, hz))
        try:
            window = TimedWindow(runner.views, runner.commands, settings)
            window.setGeometry(0, 0, WIDTH, HEIGHT)
            window.show()

            marks: dict[str, float] = {}

            def start() -> None:
                for figures in (update_ms, paint_ms, update_cpu_ms, paint_cpu_ms):
                    figures.clear()
                marks.update(cpu=_cpu_s(), thread=time.thread_time(), wall=time.monotonic(),
                             published=runner.views.published)

            def stop() -> None:
                marks.update(cpu=_cpu_s() - marks["cpu"], thread=time.thread_time() - marks["thread"],
                             wall=time.monotonic() - marks["wall"],
                             published=runner.views.published - marks["published"])
                app.quit()

            QTimer.singleShot(int(warmup_s * 1000), start)
            QTimer.singleShot(int((warmup_s + seconds) * 1000), stop)
            app.exec()
            cpu, thread, wall, published = marks["cpu"], marks["thread"], marks["wall"], marks["published"]
            size = window.size()
            window.close()
            QApplication.processEvents()
        finally:
            runner.close()
    return {"refresh_hz": len(update_ms) / wall, "paints_hz": len(paint_ms) / wall,
            "views_hz": published / wall,
            "update_ms_p50": _percentile(update_ms, 0.5), "update_ms_p99": _percentile(update_ms, 0.99),
            "paint_ms_p50": _percentile(paint_ms, 0.5), "paint_ms_p99": _percentile(paint_ms, 0.99),
            "update_cpu_ms_p50": _percentile(update_cpu_ms, 0.5),
            "update_cpu_ms_p99": _percentile(update_cpu_ms, 0.99),
            # GUI-thread CPU per view drawn: the update and every repaint, whatever caused them.
            "frame_cpu_ms": (sum(update_cpu_ms) + sum(paint_cpu_ms)) / max(1, len(update_ms)),
            "gui_thread_cpu_pct": 100.0 * thread / wall, "process_cpu_pct": 100.0 * cpu / wall,
            "size": f"{size.width()}x{size.height()}"}


# --- the parent: one child per run ----------------------------------------------------------------------


def _offscreen_env(folder: Path) -> dict[str, str]:
    screen = {"name": "bench", "x": 0, "y": 0, "width": WIDTH, "height": HEIGHT, "logicalDpi": 96,
              "logicalBaseDpi": 96, "dpr": 1}
    path = folder / "screen.json"
    path.write_text(json.dumps({"synthesizedFocusEvents": True, "windowFrameMargins": False,
                                "screens": [screen]}))
    return {"QT_QPA_PLATFORM": f"offscreen:configfile={path}"}


class Xvfb:
    """An X server in memory, 1920x1080x24, on a display number it picks itself."""

    def __init__(self) -> None:
        read, write = os.pipe()
        command = ["Xvfb", "-displayfd", str(write), "-screen", "0", f"{WIDTH}x{HEIGHT}x24",
                   "-nolisten", "tcp"]
        self.proc = subprocess.Popen(command, pass_fds=(write,), stderr=subprocess.DEVNULL)
        os.close(write)
        with os.fdopen(read) as pipe:
            number = pipe.readline().strip()
        if not number:
            self.proc.kill()
            raise SystemExit("Xvfb did not start")
        self.display = f":{number}"

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def run_child(mode: str, env: dict[str, str], args: argparse.Namespace, cameras: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", mode, "--cameras", str(cameras), "--hz", str(args.hz),
               "--seconds", str(args.seconds), "--warmup", str(args.warmup), "--refresh", str(args.refresh)]
    with tempfile.TemporaryDirectory(prefix="stagectl-gui-bench-data-") as data:
        env = {**os.environ, **env, "PYTHONPATH": str(ROOT), "STAGECTL_DATA_DIR": data}
        out = subprocess.run(command, env=env, cwd=ROOT,
                             capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise SystemExit(f"{mode} run failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in runs))


def measure(args: argparse.Namespace, cameras: int, platform: str, env: dict[str, str]) -> dict[str, Any]:
    """ABBA: headless, window, window, headless, ``--runs`` // 2 times."""
    headless: list[dict[str, Any]] = []
    window: list[dict[str, Any]] = []
    for _ in range(max(1, args.runs // 2)):
        headless.append(run_child("headless", env, args, cameras))
        window.append(run_child("window", env, args, cameras))
        window.append(run_child("window", env, args, cameras))
        headless.append(run_child("headless", env, args, cameras))
    keys = [k for k in window[0] if isinstance(window[0][k], float)]
    figures: dict[str, Any] = {k: _median(window, k) for k in keys}
    figures["headless_cpu_pct"] = _median(headless, "process_cpu_pct")
    figures["window_cost_pct"] = figures["process_cpu_pct"] - figures["headless_cpu_pct"]
    figures.update(cameras=cameras, platform=platform, size=window[0]["size"], runs=len(window),
                   load_average=os.getloadavg())
    return figures


def report(row: dict[str, Any]) -> str:
    """One line of figures."""
    return (f"{row['cameras']} cameras, {row['platform']:9s} {row['size']}: "
            f"refresh {row['refresh_hz']:5.1f} Hz (paints {row['paints_hz']:5.1f}/s,"
            f" views {row['views_hz']:5.1f}/s)"
            f" | update p50 {row['update_ms_p50']:5.2f} p99 {row['update_ms_p99']:5.2f} ms"
            f" | paint p50 {row['paint_ms_p50']:5.2f} p99 {row['paint_ms_p99']:5.2f} ms"
            f" | CPU: update p50 {row['update_cpu_ms_p50']:5.2f} p99 {row['update_cpu_ms_p99']:5.2f} ms,"
            f" update + paints {row['frame_cpu_ms']:5.2f} ms a view"
            f" | GUI thread {row['gui_thread_cpu_pct']:5.1f}% | process {row['process_cpu_pct']:5.1f}%"
            f" against headless {row['headless_cpu_pct']:5.1f}%:"
            f" window {row['window_cost_pct']:+5.1f}% of a core"
            f" | load {row['load_average'][0]:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, nargs="+", default=[2, 8])
    parser.add_argument("--hz", type=int, default=500, help="packets a second per simulated camera")
    parser.add_argument("--refresh", type=int, default=30, choices=(30, 60), help="the window's refresh")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=2, help="window runs per figure (ABBA pairs)")
    parser.add_argument("--platforms", nargs="+", default=["offscreen", "xvfb"],
                        choices=("offscreen", "xvfb"))
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--child", choices=("headless", "window"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "headless":
        print(json.dumps(child_headless(args.cameras[0], args.hz, args.warmup, args.seconds)))
        return 0
    if args.child == "window":
        print(json.dumps(child_window(args.cameras[0], args.hz, args.warmup, args.seconds, args.refresh)))
        return 0

    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="stagectl-gui-bench-") as tmp:
        for platform in args.platforms:
            xvfb = None
            if platform == "offscreen":
                env = _offscreen_env(Path(tmp))
            elif shutil.which("Xvfb") is None:
                notes.append("Xvfb is not installed (Debian: apt-get install xvfb): no figures under X")
                print(notes[-1])
                continue
            else:
                xvfb = Xvfb()
                env = {"QT_QPA_PLATFORM": "xcb", "DISPLAY": xvfb.display}
            try:
                for cameras in args.cameras:
                    rows.append(measure(args, cameras, platform, env))
                    print(report(rows[-1]), flush=True)
            finally:
                if xvfb is not None:
                    xvfb.close()
    if args.json:
        print(json.dumps({"bench": "gui_frame", "hz": args.hz, "refresh": args.refresh,
                          "seconds": args.seconds, "rows": rows, "notes": notes}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
