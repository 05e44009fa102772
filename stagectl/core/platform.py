"""What the operating system gives the process: a display for the window, a stdout that may close.

The one place for these OS specifics. Kernel module: imports nothing of ours and no Qt, so the
command line can ask before it starts the stage or creates a QApplication.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TextIO

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
