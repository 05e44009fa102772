"""The remote's live state costs nothing while no page is connected, and is fresh the moment one is."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from stagectl.stage.runner import StageRunner
from tests.support.loop import run_loop
from tests.support.polling import wait_until
from tests.web.test_security import base, client, light_stage, login


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[StageRunner]:
    runner = light_stage(tmp_path)
    yield runner
    runner.close()


def _accepted(runner: StageRunner) -> int:
    return runner.stage.sources[0].health.accepted


def _builds(runner: StageRunner) -> int:
    web = runner.stage.web
    assert web is not None
    return web.live.builds


def test_no_state_is_made_while_no_page_is_connected(runner: StageRunner) -> None:
    wait_until(lambda: _accepted(runner) > 0, what="the camera's first samples")
    before, seen = _builds(runner), _accepted(runner)
    # A second of the stage's own samples (50 Hz): the ticks would have made ~20 states by now.
    wait_until(lambda: _accepted(runner) >= seen + 50, what="50 more samples")
    assert _builds(runner) == before


def test_a_page_gets_the_state_now_and_the_ticks_run_while_it_is_connected(runner: StageRunner) -> None:
    url = base(runner)

    async def main() -> None:
        async with client() as session:
            status, page = await login(session, url)
            assert status == 200 and "Security" in page
            async with session.ws_connect(url + "/ws", origin=url) as ws:
                hello = json.loads((await ws.receive(timeout=5.0)).data)
                assert hello["type"] == "state" and hello["changes"]["stage"] == "Security"
                connected = _builds(runner)
                seen = _accepted(runner)
                wait_until(lambda: _accepted(runner) >= seen + 50, what="50 more samples")
                assert _builds(runner) > connected, "no state made while a page was connected"
        wait_until(lambda: not runner.stage.web.live.clients, what="the page gone")  # type: ignore[union-attr]
        after = _builds(runner)
        seen = _accepted(runner)
        wait_until(lambda: _accepted(runner) >= seen + 50, what="50 more samples")
        assert _builds(runner) <= after + 1  # at most the tick that was under way when the page left

    run_loop(main)
