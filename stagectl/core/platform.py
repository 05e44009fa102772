"""What the operating system gives the process: a display for the window, a stdout that may close,
the arrival time of each datagram, a quick exit.

The one place for these OS specifics. Kernel module: imports nothing of ours and no Qt, so the
command line can ask before it starts the stage or creates a QApplication.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import socket
import struct
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any, NoReturn, TextIO

#: Qt platform plugins that need a display server, with the variable that names the server.
_SERVER_PLUGINS = {"xcb": ("DISPLAY",), "wayland": ("WAYLAND_DISPLAY",), "wayland-egl": ("WAYLAND_DISPLAY",),
                   "wayland-brcm": ("WAYLAND_DISPLAY",)}


def _always_has_display(system: str) -> bool:
    """Windows and macOS always have a window system to draw on."""
    return system.startswith(("win32", "cygwin", "darwin"))


def missing_display(env: Mapping[str, str] | None = None, system: str | None = None) -> str | None:
    """Why the window cannot open here (no display server to reach), or None when it can.

    On Linux and the BSDs the window needs ``DISPLAY`` (X11) or ``WAYLAND_DISPLAY`` (Wayland), unless
    ``QT_QPA_PLATFORM`` names a plugin that draws without a server (``offscreen``, ``eglfs``,
    ``linuxfb``, ``vnc``, ...). ``QT_QPA_PLATFORM=xcb`` needs ``DISPLAY`` and ``wayland`` needs
    ``WAYLAND_DISPLAY``; a ``;``-separated list of fallbacks works when any one of them can.
    Windows and macOS always have a display. ``env`` and ``system`` default to this process's.
    """
    env = os.environ if env is None else env
    system = sys.platform if system is None else system
    if _always_has_display(system):
        return None
    requested = env.get("QT_QPA_PLATFORM", "").strip()
    if requested:
        plugins = [item.split(":", 1)[0].strip().lower() for item in requested.split(";") if item.strip()]
        for plugin in plugins:
            needs = _SERVER_PLUGINS.get(plugin)
            if needs is None or any(env.get(name) for name in needs):
                return None
        return f"QT_QPA_PLATFORM={requested} but " + " and ".join(
            sorted({f"{name} is unset" for plugin in plugins for name in _SERVER_PLUGINS[plugin]}))
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return None
    return "DISPLAY and WAYLAND_DISPLAY are unset"


def silence_stdout(stream: TextIO | None = None) -> None:
    """Point standard output at the null device after its reader went away (a closed pipe).

    What is still buffered is dropped, and nothing written later (nor the flush at exit) raises
    ``BrokenPipeError`` again. Portable: ``os.devnull`` is ``/dev/null`` or ``nul``.
    """
    stream = sys.stdout if stream is None else stream
    try:
        fd = stream.fileno()
    except (OSError, ValueError):
        return  # not a real file (a test's StringIO, or already closed): nothing will flush it
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def exit_process(code: int) -> NoReturn:
    """End the process now with exit status ``code``, without the interpreter's teardown.

    For a command whose work is over and closed (the stage's ``run``, with or without the window):
    what a normal exit does first is done here too (other threads are waited for, exit handlers run,
    standard output and error are flushed; a reader gone from standard output makes the status 1, as
    in :func:`stagectl.app.main`), then the process ends. Skipped is the teardown after that: every
    module's objects freed one by one, Qt's widgets destroyed, the garbage collected. With a stage's
    libraries loaded that took most of the time from Ctrl+C to exit (bench/stop_latency.py: ~150 ms
    headless, ~100 ms more with the window). Lost with it is a ``__del__`` of an object still alive,
    which CPython does not promise at exit either; the stage's files and sockets are closed by then.
    """
    current = threading.current_thread()
    for thread in threading.enumerate():
        if thread is not current and not thread.daemon:
            thread.join()  # as the interpreter would before its exit handlers
    try:
        atexit._run_exitfuncs()
    finally:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            silence_stdout()
            code = code or 1
        except (OSError, ValueError):  # closed, or not a real file
            pass
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        os._exit(code)


# --- datagram arrival times ------------------------------------------------------------------------

#: Linux's SO_TIMESTAMPNS (the asm-generic value: x86, ARM; Python's socket module does not name it).
_SO_TIMESTAMPNS = 35
_TIMESPEC = struct.Struct("@qq")
_TIMESPEC_SIZE = _TIMESPEC.size
_UNPACK_TIMESPEC = _TIMESPEC.unpack_from
_SOL_SOCKET = socket.SOL_SOCKET
#: A kernel stamp older than this (or in the future) means the wall clock was stepped between the
#: kernel's stamp and the read: the read time is used instead.
MAX_STAMP_AGE_NS = 10_000_000_000


def kernel_timestamps_available(system: str | None = None) -> bool:
    """Whether this OS stamps each received datagram (Linux: SO_TIMESTAMPNS through recvmsg)."""
    system = sys.platform if system is None else system
    return system.startswith("linux") and hasattr(socket.socket, "recvmsg")


class DatagramReader:
    """Reads datagrams from a non-blocking UDP socket, each with its arrival time.

    The arrival time is on the ``time.monotonic_ns`` clock and taken before anything parses the
    datagram. On Linux it is the kernel's receive stamp (SO_TIMESTAMPNS, CLOCK_REALTIME, moved to
    the monotonic clock at the read): a datagram that waited in the socket's queue while the I/O
    loop was busy keeps the time it really arrived, so rates and staleness computed from it stay
    true. Elsewhere (Windows, macOS), or if the option is refused, it is the time of the read, per
    datagram. Stamps never go backwards and never lie in the future.

    :meth:`read` raises what ``recvfrom`` raises (``BlockingIOError`` when the queue is empty).
    """

    def __init__(self, sock: socket.socket, bufsize: int, *, kernel_stamps: bool | None = None) -> None:
        self._sock = sock
        self._bufsize = bufsize
        self._last_ns = 0
        want = kernel_timestamps_available() if kernel_stamps is None else kernel_stamps
        self.kernel_stamps = False
        """True when arrival times come from the kernel."""
        if want:
            try:
                sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
                self.kernel_stamps = True
            except OSError:
                pass
        self._ancillary = socket.CMSG_SPACE(_TIMESPEC.size) if self.kernel_stamps else 0

    def read(self) -> tuple[bytes, Any, int]:
        """One datagram: (data, sender address, arrival monotonic ns)."""
        if not self.kernel_stamps:
            data, addr = self._sock.recvfrom(self._bufsize)
            return data, addr, self._monotonic(time.monotonic_ns())
        data, ancillary, _flags, addr = self._sock.recvmsg(self._bufsize, self._ancillary)
        now = arrival = time.monotonic_ns()
        for level, kind, payload in ancillary:  # the one message asked for (a datagram per read)
            if kind == _SO_TIMESTAMPNS and level == _SOL_SOCKET and len(payload) >= _TIMESPEC_SIZE:
                seconds, nanoseconds = _UNPACK_TIMESPEC(payload)
                stamp = seconds * 1_000_000_000 + nanoseconds - (time.time_ns() - now)
                if now - MAX_STAMP_AGE_NS <= stamp <= now:
                    arrival = stamp
                break
        if arrival < self._last_ns:  # the wall clock moved under a queued datagram
            return data, addr, self._last_ns
        self._last_ns = arrival
        return data, addr, arrival

    def _monotonic(self, arrival_ns: int) -> int:
        if arrival_ns < self._last_ns:  # the wall clock moved under a queued datagram
            arrival_ns = self._last_ns
        self._last_ns = arrival_ns
        return arrival_ns
