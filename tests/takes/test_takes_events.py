"""What a take's log keeps of the stage's events: what matters to post (cues, device changes,
errors), not discovery's own announcements and found-device chatter (over real mDNS on loopback)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from stagectl.core.events import Level, StageEvent
from stagectl.discovery.mdns import HTTP_SERVICE, KIND_KEY, Advertiser
from stagectl.stage.runner import StageRunner
from tests.support.loop import run_loop
from tests.support.polling import async_wait_until, wait_until
from tests.support.recording import read_take, record
from tests.support.stagefile import StageFile

LO = ["127.0.0.1"]
FOUND_TIMEOUT_S = 10.0
"""mDNS on loopback finds an announced service within a second; the bound is for a loaded machine."""


@contextmanager
def running(tmp_path: Path) -> Iterator[StageRunner]:
    """A stage with zeroconf on loopback (an announced wall emulator, control-in) and a take store;
    closed at the end (every take committed)."""
    (tmp_path / "looks").mkdir()
    stage = (StageFile("Take events test").source("A")
             .device("tessera", "wall", zone="wall", emulator=True, poll_ms=200)
             .looks(dir="looks")
             .takes(dir="takes")
             .control())
    runner = StageRunner(stage.config(tmp_path))
    try:
        wait_until(lambda: runner.stage.recorder.ready, what="the take store to open")
        yield runner
    finally:
        runner.close()


def test_a_take_keeps_cues_and_errors_but_not_discovery_chatter(tmp_path: Path) -> None:
    with running(tmp_path) as runner:
        take, chatter = _record_with_discovery_chatter(runner)
    found = [e.message for e in chatter]
    assert any(m.startswith("found tessera") and "Fake Tessera" in m for m in found), found  # discovery spoke
    assert any(m.endswith("gone") and "Fake Tessera" in m for m in found), found
    lines = [(e.kind, e.source, e.text) for e in read_take(tmp_path / "takes", take).log]
    assert not [line for line in lines if line[1] == "discovery" and "conflict" not in line[2]], lines
    assert ("cue", "cues", "GO: cue 1 (Dusk)") in lines, lines
    assert ("event", "wall", "Tessera wall: link lost") in lines, lines
    assert ("event", "discovery", "could not announce 'wall': name conflict") in lines, lines


def _record_with_discovery_chatter(runner: StageRunner) -> tuple[str, list[StageEvent]]:
    """A take during which a cue is posted, a device is announced on loopback, found and gone, and two
    errors are posted (one by discovery); the take's name and discovery's events meanwhile."""
    name = f"Fake Tessera {uuid.uuid4().hex[:8]}"
    lighting = runner.stage.lighting
    chatter: list[StageEvent] = []  # discovery's events while the take ran (the UI sees them)
    runner.stage.events.subscribe(lambda e: chatter.append(e) if e.source == "discovery" else None)

    async def a_device_comes_and_goes() -> None:
        advertiser = Advertiser(interfaces=LO)
        try:
            txt = {KIND_KEY: "tessera", "vendor": "brompton", "path": "/"}
            advert = await advertiser.async_advertise(HTTP_SERVICE, name, 18099, txt)
            await async_wait_until(lambda: any(f.name == name for f in lighting.latest.found),
                                   timeout_s=FOUND_TIMEOUT_S, what="the stage to find the fake Tessera")
            await advertiser.async_withdraw(advert)
            await async_wait_until(lambda: all(f.name != name for f in lighting.latest.found),
                                   timeout_s=FOUND_TIMEOUT_S, what="the fake Tessera to be gone")
        finally:
            await advertiser.async_stop()

    def during() -> None:
        events = runner.stage.events
        events.post(Level.INFO, "cues", "cue", "GO: cue 1 (Dusk)")
        run_loop(a_device_comes_and_goes)
        events.post(Level.ERROR, "wall", "error", "Tessera wall: link lost")
        events.post(Level.ERROR, "discovery", "error", "could not announce 'wall': name conflict",
                    for_take=False)

    return record(runner, during, scene="1"), chatter


@pytest.mark.parametrize(("level", "for_take", "kept"), [
    (Level.INFO, True, True),
    (Level.WARNING, True, True),
    (Level.INFO, False, False),
    (Level.WARNING, False, False),
    (Level.ERROR, False, True),
])
def test_the_take_rule(level: Level, for_take: bool, kept: bool) -> None:
    event = StageEvent(0.0, 0, level, "discovery", "state", "announced 'wall'", for_take)
    assert event.recorded_in_take() is kept
