"""Serial lens encoders: the wire formats stagectl reads, as pure incremental parsers.

* ``cooke-i``: Cooke /i replies, ASCII and packed binary (tracking.encoders.cooke);
* ``fiz-line``: ``FIZ <focus_raw> <iris_raw> <zoom_raw>`` lines from hobby encoders (encoders.fiz_line).

Each parser's ``feed(bytes)`` returns :data:`LensItem` values in stream order: a
:class:`LensData` per reading, a :class:`LensReject` (reason, detail) per bad line and a
:class:`LensNotice` for what the device says that is neither. ``flush()`` returns nothing for
these line protocols (a half line waits for its end). Parsers never raise and keep a bounded
amount of input between feeds. tracking.encoders.serial reads them from a port.
"""

from __future__ import annotations

from tracking.encoders.cooke import START_ASCII, START_BINARY, CookeLensInfo, CookeParser
from tracking.encoders.fiz_line import FizLineParser, parse_fiz_line
from tracking.encoders.lines import LensData, LensItem, LensNotice, LensReject, LineSplitter

__all__ = ["DEFAULT_START_COMMANDS", "LENS_PROTOCOLS", "START_ASCII", "START_BINARY", "CookeLensInfo",
           "CookeParser", "FizLineParser", "LensData", "LensItem", "LensNotice", "LensParser", "LensReject",
           "LineSplitter", "make_parser", "parse_fiz_line"]

LENS_PROTOCOLS = ("cooke-i", "fiz-line")
"""The values of a lens-serial source's ``lens_protocol``."""

DEFAULT_START_COMMANDS: dict[str, tuple[bytes, ...]] = {"cooke-i": START_BINARY, "fiz-line": ()}
"""What a source writes after every (re)open unless told otherwise."""

LensParser = CookeParser | FizLineParser


def make_parser(lens_protocol: str, *, imperial: bool = False) -> LensParser:
    """A fresh parser for ``lens_protocol``; ``imperial`` (Cooke /i) reads distances in 0.1 inch."""
    if lens_protocol == "cooke-i":
        return CookeParser(imperial=imperial)
    if lens_protocol == "fiz-line":
        return FizLineParser()
    raise ValueError(f"lens protocol {lens_protocol!r} is not one of {', '.join(LENS_PROTOCOLS)}")
