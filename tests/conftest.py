"""Suite-wide fixtures: no test reaches beyond loopback, the window keeps its layout in tmp, and the
emulator fixtures of :mod:`tests.support.emulators` are offered to every test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.emulators import (  # noqa: F401  (fixtures: pytest finds them by name here)
    emulator_host,
    helios_emulator,
    osc_device_emulator,
    rc_emulator,
    tessera_emulator,
)
from tests.support.network import loopback_guard
from tests.support.postgres import (  # noqa: F401  (one PostgreSQL server for the session, found by name)
    facility_url,
    postgres_server,
)

# Headless Qt with a desktop-sized virtual screen (the offscreen default is 800x800, smaller
# than the window's minimum width, which would clamp restored geometry).
_SCREEN = os.path.join(os.path.dirname(__file__), os.pardir, "scripts", "offscreen-screen.json")
if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={_SCREEN}"


@pytest.fixture(autouse=True, scope="session")
def loopback_only() -> Iterator[None]:
    """Fail any test whose code connects or sends outside loopback (multicast: loopback with TTL 0 only)."""
    with loopback_guard():
        yield


@pytest.fixture(autouse=True)
def settings_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the window's layout file and stagectl's data folder (looks) at fresh folders per test."""
    path = str(tmp_path_factory.mktemp("settings"))
    monkeypatch.setenv("STAGECTL_SETTINGS_DIR", path)
    monkeypatch.setenv("STAGECTL_DATA_DIR", str(tmp_path_factory.mktemp("data")))  # looks folder
    return path
