"""The command-line log setup: third-party libraries do not flood stderr at INFO."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from stagectl.core.logutil import QUIET_LIBRARIES, setup_logging


class _Collect(logging.Handler):
    """Keeps every record that reaches it."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def root() -> Iterator[_Collect]:
    """A bare root logger for setup_logging to configure, with a collecting handler; restored after."""
    root_logger = logging.getLogger()
    saved_handlers, saved_level = root_logger.handlers[:], root_logger.level
    saved_levels = {name: logging.getLogger(name).level for name in QUIET_LIBRARIES}
    collect = _Collect()
    try:
        yield collect
    finally:
        root_logger.handlers = saved_handlers
        root_logger.setLevel(saved_level)
        for name, level in saved_levels.items():
            logging.getLogger(name).setLevel(level)


def _setup(level: int, collect: _Collect) -> None:
    root_logger = logging.getLogger()
    root_logger.handlers = []  # as on the command line: nothing configured yet
    setup_logging(level)
    root_logger.handlers = [collect]  # in place of stderr


def test_at_info_an_httpx_info_line_does_not_reach_the_handler(root: _Collect) -> None:
    _setup(logging.INFO, root)
    logging.getLogger("httpx").info("HTTP Request: GET http://127.0.0.1/api \"HTTP/1.1 200 OK\"")
    logging.getLogger("httpx").warning("connection refused")
    logging.getLogger("test_logging.own").info("stage up")
    assert [r.getMessage() for r in root.records] == ["connection refused", "stage up"]


@pytest.mark.parametrize("name", QUIET_LIBRARIES)
def test_every_quiet_library_is_held_at_warning(root: _Collect, name: str) -> None:
    _setup(logging.INFO, root)
    logging.getLogger(f"{name}.inner").info("chatter")
    assert root.records == []


def test_at_debug_httpx_info_lines_reach_the_handler(root: _Collect) -> None:
    _setup(logging.DEBUG, root)
    logging.getLogger("httpx").info("HTTP Request: GET http://127.0.0.1/api")
    assert [r.getMessage() for r in root.records] == ["HTTP Request: GET http://127.0.0.1/api"]
