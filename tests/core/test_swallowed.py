"""``swallowed``: cleanup errors are let go only counted and logged, and never more than an Exception."""

from __future__ import annotations

import asyncio
import logging

import pytest

from stagectl.core.logutil import SWALLOWED, swallowed

log = logging.getLogger("stagectl.test")


def test_a_cleanup_error_is_counted_and_logged_with_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    before = SWALLOWED["closing a test socket"]
    caplog.set_level(logging.DEBUG, logger="stagectl.test")
    with swallowed(log, "closing a test socket"):
        raise OSError("already closed")
    assert SWALLOWED["closing a test socket"] == before + 1
    record = next(r for r in caplog.records if r.name == "stagectl.test")
    assert "closing a test socket failed" in record.getMessage()
    assert "already closed" in (record.exc_text or "")


def test_a_clean_block_counts_nothing() -> None:
    before = sum(SWALLOWED.values())
    with swallowed(log, "nothing goes wrong"):
        pass
    assert sum(SWALLOWED.values()) == before


def test_cancellation_and_exit_pass_through() -> None:
    with pytest.raises(asyncio.CancelledError), swallowed(log, "cancelled"):
        raise asyncio.CancelledError
    with pytest.raises(KeyboardInterrupt), swallowed(log, "interrupted"):
        raise KeyboardInterrupt
