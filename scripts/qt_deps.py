"""Check (and with --fix, install) the system libraries Qt's platform plugin needs.

PySide6 wheels bring Qt but not the X11/EGL/font libraries of the host. On a fresh Debian or
Ubuntu machine some are missing, and Qt then aborts with "could not load the Qt platform
plugin". This script runs ``ldd`` on the plugin, maps missing libraries to Debian packages and,
with ``--fix`` as root, installs them with apt-get; otherwise it prints the command.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

PACKAGES = {
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
}


def plugin_path(platform: str) -> Path | None:
    """Where PySide6 keeps the platform plugin ``platform`` (xcb, offscreen, ...)."""
    try:
        import PySide6
    except ImportError:
        return None
    path = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / f"libq{platform}.so"
    return path if path.exists() else None


def missing_libraries(plugin: Path) -> list[str]:
    """Shared libraries ``ldd`` cannot find for ``plugin``."""
    out = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, check=False).stdout
    return sorted({line.split()[0] for line in out.splitlines() if "not found" in line})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", default=os.environ.get("QT_QPA_PLATFORM") or "xcb")
    parser.add_argument("--fix", action="store_true", help="install what is missing (root + apt-get)")
    args = parser.parse_args()
    if not sys.platform.startswith("linux") or shutil.which("ldd") is None:
        return 0
    plugin = plugin_path(args.platform.split(":")[0])
    if plugin is None:
        return 0
    missing = missing_libraries(plugin)
    packages = sorted({PACKAGES[lib] for lib in missing if lib in PACKAGES})
    unknown = [lib for lib in missing if lib not in PACKAGES]
    if not missing:
        return 0
    command = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    if args.fix and packages and os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"qt_deps: installing {' '.join(packages)} for Qt's {args.platform} plugin", file=sys.stderr)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        subprocess.run(command, check=True, env=env)
        missing = missing_libraries(plugin)
        if not missing:
            return 0
    print(f"qt_deps: Qt's {args.platform} plugin is missing {', '.join(missing)}", file=sys.stderr)
    if packages:
        print(f"qt_deps: install them with: sudo {' '.join(command)}", file=sys.stderr)
    if unknown:
        print(f"qt_deps: no known package for {', '.join(unknown)}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
