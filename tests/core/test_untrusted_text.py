"""Untrusted text in logs and events: one escaping function, events and stderr lines that stay one line,
and a log budget per subsystem that rotating keys cannot get around."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stagectl.core.events import EventQueue, Level, StageEvent
from stagectl.core.logutil import LogBudget, OneLineFormatter, RateLimiter, setup_logging, with_suppressed
from stagectl.core.text import MAX_UNTRUSTED, escape_untrusted


@pytest.mark.parametrize(("raw", "shown"), [
    ("/stagectl/cue/go", "/stagectl/cue/go"),
    ("Café night", "Café night"),
    ("C:\\takes\\A", "C:\\takes\\A"),
    ("a\nb\r\tc", "a\\nb\\r\\tc"),
    ("\x1b[2K\x00\x7f\x85", "\\x1b[2K\\x00\\x7f\\x85"),
    ("line\u2028sep\u2029 \u202eevil \u200b", "line\\u2028sep\\u2029 \\u202eevil \\u200b"),
])
def test_escape_untrusted(raw: str, shown: str) -> None:
    assert escape_untrusted(raw) == shown


def test_escape_untrusted_cuts_long_text_and_says_how_much() -> None:
    text = escape_untrusted("x" * (MAX_UNTRUSTED + 50))
    assert text == "x" * MAX_UNTRUSTED + "...(50 more characters)"
    assert escape_untrusted("\n" * 10, limit=3) == "\\n\\n\\n...(7 more characters)"
    assert escape_untrusted("y" * 1000, limit=None) == "y" * 1000


@given(st.text())
def test_escaped_text_is_always_one_printable_line(text: str) -> None:
    escaped = escape_untrusted(text, limit=None)
    assert escaped.isprintable() and len(escaped.splitlines()) <= 1


def test_an_event_is_one_line_whatever_its_text(caplog: pytest.LogCaptureFixture) -> None:
    events, logged = EventQueue(), list[StageEvent]()
    events.subscribe(logged.append)  # what a take's log receives
    caplog.set_level(logging.INFO, logger="stagectl.events")
    forged = ("10.0.0.9: unknown address /x\n12:00:00 INFO    stagectl.events: control: 10.0.0.9: "
              "authenticated")
    event = events.post(Level.WARNING, "control\r", "rejected", forged)
    assert "\n" not in event.format() and "\r" not in event.format()
    assert event.message.endswith("/x\\n12:00:00 INFO    stagectl.events: control: 10.0.0.9: authenticated")
    assert event.source == "control\\r" and logged == [event]
    assert [r.getMessage() for r in caplog.records] == [f"control\\r: {event.message}"]


def test_stderr_lines_are_one_line_each_but_tracebacks_stay() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(OneLineFormatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("test_untrusted_text.own")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("control: %s", "/x\nERROR forged line")
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed on %s", "a\rb")
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "WARNING test_untrusted_text.own: control: /x\\nERROR forged line"
    assert lines[1] == "ERROR test_untrusted_text.own: failed on a\\rb"
    assert lines[2] == "Traceback (most recent call last):" and lines[-1] == "ValueError: boom"


@pytest.fixture
def bare_root() -> Iterator[logging.Logger]:
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    try:
        yield root
    finally:
        root.handlers = saved
        root.setLevel(level)


def test_setup_logging_writes_one_line_per_record(bare_root: logging.Logger) -> None:
    bare_root.handlers = []  # as on the command line: nothing configured yet
    setup_logging(logging.INFO)
    [handler] = bare_root.handlers
    assert isinstance(handler, logging.StreamHandler) and isinstance(handler.formatter, OneLineFormatter)


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_rotating_keys_cannot_get_past_the_subsystem_budget() -> None:
    clock = _Clock()
    budget = LogBudget(burst=5, per_s=2.0, clock=clock)
    limiter = RateLimiter(1.0, clock, budget=budget)
    other = RateLimiter(1.0, clock, budget=budget)  # another part of the same subsystem
    lines = [limiter.check(f"bad_passcode:127.0.{n // 250}.{n % 250}") for n in range(1000)]
    assert sum(1 for held in lines if held is not None) == 5
    assert other.check("state") is None  # the budget is shared
    assert budget.suppressed_total == 996
    clock.now += 0.5  # one line earned back
    held = limiter.check("bad_passcode:127.9.9.9")
    assert held == 996
    assert with_suppressed("wrong passcode", held) == "wrong passcode (996 similar suppressed)"
    assert limiter.check("bad_passcode:127.9.9.10") is None


def test_the_per_key_limit_still_applies_under_a_budget() -> None:
    clock = _Clock()
    limiter = RateLimiter(1.0, clock, budget=LogBudget(burst=100, per_s=100.0, clock=clock))
    assert [limiter.check("a") for _ in range(4)] == [0, None, None, None]
    clock.now += 1.0
    assert limiter.check("a") == 3
    limiter.forget()
    assert len(limiter) == 0 and limiter.check("a") == 0


def test_a_limiter_without_a_budget_is_unchanged() -> None:
    clock = _Clock()
    limiter = RateLimiter(1.0, clock)
    assert sum(1 for n in range(1000) if limiter.check(f"k{n}") is not None) == 1000


def test_a_budget_needs_sensible_figures() -> None:
    with pytest.raises(ValueError, match="burst >= 1"):
        LogBudget(burst=0)
