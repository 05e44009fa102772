"""First run from a shell: no display, a pipe closed early, ``--log-level`` anywhere, the program's name."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stagectl import app
from stagectl.cli import build_parser, normalise_argv
from stagectl.core.platform import missing_display
from tests.support.cli import REPO, stagectl_env

KNOWN_1 = "d100df78aa0047ef000000000000000000000000004000001501d1ff12"
DISPLAY_VARS = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")


# --- no display -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("env", "system"), [
    ({}, "linux"),
    ({}, "freebsd14"),
    ({"QT_QPA_PLATFORM": "xcb"}, "linux"),
    ({"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "wayland-0"}, "linux"),
    ({"QT_QPA_PLATFORM": "wayland", "DISPLAY": ":0"}, "linux"),
    ({"QT_QPA_PLATFORM": "wayland;xcb"}, "linux"),
    ({"DISPLAY": ""}, "linux"),
])
def test_no_display_is_detected(env: dict[str, str], system: str) -> None:
    reason = missing_display(env, system)
    assert reason is not None and "unset" in reason


@pytest.mark.parametrize(("env", "system"), [
    ({"DISPLAY": ":0"}, "linux"),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "linux"),
    ({"QT_QPA_PLATFORM": "offscreen"}, "linux"),
    ({"QT_QPA_PLATFORM": "offscreen:configfile=screen.json"}, "linux"),
    ({"QT_QPA_PLATFORM": "eglfs"}, "linux"),
    ({"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":1"}, "linux"),
    ({"QT_QPA_PLATFORM": "wayland;xcb", "DISPLAY": ":1"}, "linux"),
    ({"QT_QPA_PLATFORM": "wayland-egl", "WAYLAND_DISPLAY": "wayland-0"}, "openbsd7"),
    ({}, "win32"),
    ({}, "darwin"),
])
def test_a_display_is_found(env: dict[str, str], system: str) -> None:
    assert missing_display(env, system) is None


def _no_display_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in stagectl_env().items() if k not in DISPLAY_VARS}
    env["STAGECTL_SETTINGS_DIR"] = str(tmp_path)
    return env


def _run(cmd: list[str], env: dict[str, str], timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *cmd], capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=REPO, check=False)


@pytest.mark.parametrize("cmd", [["main.py"], ["-m", "stagectl", "run"], ["-m", "stagectl"],
                                 ["main.py", "--screenshot", "grab.png"]])
def test_without_a_display_the_window_says_what_to_do_and_exits_2(cmd: list[str], tmp_path: Path) -> None:
    started = time.monotonic()
    result = _run(cmd, _no_display_env(tmp_path))
    assert result.returncode == 2, result.stderr
    assert time.monotonic() - started < 20.0
    assert "no display" in result.stderr
    assert "--headless" in result.stderr and "xvfb-run" in result.stderr
    assert "Traceback" not in result.stderr
    assert "running" not in result.stderr  # the stage was never started
    prog = "main.py" if cmd[0] == "main.py" else "stagectl"
    assert result.stderr.startswith(f"{prog}: no display")


@pytest.mark.parametrize("cmd", [["main.py", "--headless"], ["-m", "stagectl", "run", "--headless"]])
def test_without_a_display_headless_still_runs(cmd: list[str], tmp_path: Path) -> None:
    result = _run([*cmd, "--duration", "1", "--log-level", "WARNING"], _no_display_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "no display" not in result.stderr


def test_offscreen_counts_as_a_display(tmp_path: Path) -> None:
    env = _no_display_env(tmp_path) | {"QT_QPA_PLATFORM": "offscreen"}
    result = _run(["main.py", "--duration", "1", "--log-level", "ERROR"], env, timeout=60.0)
    assert result.returncode == 0, result.stderr
    assert "no display" not in result.stderr


# --- broken pipes -------------------------------------------------------------------------------------------

def _read_one_line_then_close(cmd: list[str], env: dict[str, str]) -> tuple[int, str]:
    proc = subprocess.Popen([sys.executable, *cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=REPO)
    assert proc.stdout is not None and proc.stderr is not None
    try:
        first = proc.stdout.readline()
        assert first.startswith("{"), first
        proc.stdout.close()
        stderr = proc.stderr.read()
        return proc.wait(timeout=30.0), stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_decode_into_a_pipe_closed_after_one_line_exits_quietly() -> None:
    # ~3000 JSON lines: far more than a pipe buffer holds, so the writer meets the closed pipe.
    code, stderr = _read_one_line_then_close(["-m", "stagectl", "decode", "freed", *[KNOWN_1] * 3000],
                                             stagectl_env())
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
    assert stderr == ""
    assert code == 1


@pytest.mark.parametrize("cmd", [
    ["-m", "stagectl", "--log-level", "ERROR", "run", "--headless", "--status-json"],
    ["main.py", "--log-level", "ERROR", "--status-json"],
])
def test_status_json_into_a_pipe_closed_after_one_line_exits_quietly(cmd: list[str], tmp_path: Path) -> None:
    env = stagectl_env() | {"QT_QPA_PLATFORM": "offscreen", "STAGECTL_SETTINGS_DIR": str(tmp_path)}
    code, stderr = _read_one_line_then_close(cmd, env)
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
    assert code == 1


_F_SETPIPE_SZ = 1031  # Linux fcntl: a pipe this small fills with the first status line


@pytest.mark.skipif(sys.platform != "linux", reason="shrinks the pipe with Linux's F_SETPIPE_SZ")
@pytest.mark.parametrize("cmd", [
    ["-m", "stagectl", "--log-level", "ERROR", "run", "--headless", "--status-json"],
    ["main.py", "--log-level", "ERROR", "--status-json"],
])
def test_status_json_into_a_pipe_nobody_reads_still_stops_on_ctrl_c(cmd: list[str], tmp_path: Path) -> None:
    import fcntl
    import signal

    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, _F_SETPIPE_SZ, 4096)
    env = stagectl_env() | {"QT_QPA_PLATFORM": "offscreen", "STAGECTL_SETTINGS_DIR": str(tmp_path)}
    try:
        proc = subprocess.Popen([sys.executable, *cmd], stdout=write_end, stderr=subprocess.PIPE, text=True,
                                env=env, cwd=REPO)
    finally:
        os.close(write_end)
    try:
        # Wait until the pipe is full: a status line is a few kB, so the stage is blocked on it (before
        # the status lines had a thread of their own, it never read Ctrl+C again).
        deadline = time.monotonic() + 60.0
        while time.monotonic() < deadline and _pipe_bytes(read_end) < 4096 and proc.poll() is None:
            time.sleep(0.2)
        assert _pipe_bytes(read_end) >= 4096 or proc.poll() is None
        time.sleep(2.5)  # two more status lines due, with nowhere to go
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30.0) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(read_end)


def _pipe_bytes(fd: int) -> int:
    """Bytes waiting in the pipe whose read end is ``fd`` (Linux FIONREAD)."""
    import fcntl
    import struct
    import termios

    return int(struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0])


class _ClosedPipe(io.StringIO):
    """A stdout whose reader went away."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_every_command_ends_quietly_on_a_broken_pipe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app, "setup_logging", lambda level: None)  # leave the session's logging alone
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert app.main(["--log-level", "ERROR", "decode", "freed", KNOWN_1]) == 1


# --- --log-level before or after the command ---------------------------------------------------------------

COMMANDS = [
    ["run", "--headless"],
    ["simulate", "freed"],
    ["simulate", "opentrackio"],
    ["decode", "freed", KNOWN_1],
    ["decode", "opentrackio", "00"],
    ["lens", "solve", "lens.json"],
    ["lens", "export", "lens.json"],
    ["lens", "import", "t.csv", "-o", "lens.json"],
    ["lens", "calibrate", "img.png", "--board", "checkerboard", "--inner-corners", "9x6",
     "--square-mm", "30"],
    ["takes", "list"],
    ["takes", "show", "1"],
    ["takes", "record", "--duration", "1"],
    ["takes", "raw", "1"],
    ["export", "1", "--out", "out"],
]


def _log_level(argv: list[str]) -> str:
    level = build_parser().parse_args(normalise_argv(argv)).log_level
    assert isinstance(level, str)
    return level


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_log_level_before_or_after_every_command(command: list[str]) -> None:
    assert _log_level(command) == "INFO"
    assert _log_level(["--log-level", "WARNING", *command]) == "WARNING"
    assert _log_level([*command, "--log-level", "WARNING"]) == "WARNING"
    assert _log_level([*command, "--log-level=ERROR"]) == "ERROR"


def test_log_level_without_a_command_means_run() -> None:
    assert _log_level(["--headless", "--log-level", "DEBUG"]) == "DEBUG"
    assert _log_level(["--log-level=DEBUG", "--headless"]) == "DEBUG"
    assert _log_level(["--log-level", "ERROR"]) == "ERROR"


def test_a_bad_log_level_after_the_command_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        _log_level(["run", "--log-level", "LOUD"])
    assert exited.value.code == 2
    assert "invalid choice: 'LOUD'" in capsys.readouterr().err


def test_run_log_level_after_the_command_quiets_the_log() -> None:
    env = stagectl_env()
    loud = _run(["-m", "stagectl", "run", "--headless", "--duration", "1"], env)
    quiet = _run(["-m", "stagectl", "run", "--headless", "--duration", "1", "--log-level", "WARNING"], env)
    assert loud.returncode == quiet.returncode == 0, quiet.stderr
    assert " INFO " in loud.stderr
    assert " INFO " not in quiet.stderr


# --- the program's name ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("cmd", "prog"), [(["main.py"], "main.py"), (["-m", "stagectl"], "stagectl")])
def test_help_and_errors_name_the_program_as_invoked(cmd: list[str], prog: str) -> None:
    env = stagectl_env()
    shown = _run([*cmd, "--help"], env)
    assert shown.returncode == 0
    assert shown.stdout.startswith(f"usage: {prog} ")
    refused = _run([*cmd, "run", "--duration", "-1"], env)
    assert refused.returncode == 2
    assert f"{prog} run: error:" in refused.stderr


def test_main_py_is_run_from_anywhere(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(REPO / "main.py"), "--help"], capture_output=True, text=True,
                            timeout=30.0, env=stagectl_env(), cwd=tmp_path, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: main.py ")
    assert os.listdir(tmp_path) == []
