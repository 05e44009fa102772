"""Making a real delete or read fail on a read-only or unreadable folder, whoever runs the tests.

Root passes every permission check, and CI runs the tests as root. So :func:`permissions_apply` runs
its block as an ordinary user: as is when the tests are not root; as root, with the effective user and
group ``nobody`` (``os.seteuid``, put back afterwards). Root's temporary folders are closed to other
users, so for the block the folders above the test's folder may be searched (``o+x``, no listing) and
are put back afterwards. Whatever the block imports must be imported before it (``nobody`` may not read
root's Python).
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

NOBODY = 65534


@contextlib.contextmanager
def permissions_apply(folder: Path) -> Iterator[Path]:
    """Run the block as a user file permissions apply to; yields ``folder`` (absolute)."""
    folder = folder.absolute()
    if os.geteuid() != 0:
        yield folder
        return
    opened: list[tuple[Path, int]] = []
    for above in folder.parents:
        mode = above.stat().st_mode
        if not mode & stat.S_IXOTH:
            opened.append((above, stat.S_IMODE(mode)))
            above.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)
    groups = os.getgroups()
    os.setgroups([])
    os.setegid(NOBODY)
    os.seteuid(NOBODY)
    try:
        yield folder
    finally:
        os.seteuid(0)
        os.setegid(0)
        os.setgroups(groups)
        for above, mode in opened:
            above.chmod(mode)


def read_only(folder: Path) -> None:
    """Make ``folder`` readable and searchable by everyone and writable by no one (root aside)."""
    folder.chmod(0o555)


def open_to_all(*paths: Path) -> None:
    """Make ``paths`` (folders and files) readable and writable by everyone (the ``nobody`` of
    :func:`permissions_apply` writes there)."""
    for path in paths:
        path.chmod(0o777 if path.is_dir() else 0o666)
