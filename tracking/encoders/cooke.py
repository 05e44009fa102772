"""Cooke /i lens data over a serial line (``lens_protocol = "cooke-i"``).

Source: Cooke Optics, "/i Technology User's Guide & Technical Manual", v3.0 (2012): §4.1
(8N1; commands ASCII ending in CR; replies end in LF CR; packed binary bytes all have bit 6
and/or bit 7 set), §4.9.3 (reply types), §5.1.1 N, §5.1.2 D, §5.1.3 Kd, §5.1.9 C, §5.1.10 Kc,
§5.1.13/14 X/Y display units. Cross-checked against camdkit ``camdkit/red/cooke.py`` (SMPTE RIS
OSVP), which reads the aperture and entrance pupil of Kd frames as RED cameras record them.

Packed binary ``d`` frame (reply to ``Kd``, streamed after ``Kc``); byte index: field. Numbers
are big-endian in the low 6 bits of each byte (``byte & 0x3F``)::

    0      'd'  tag
    1-4    ssss focus distance, 24 bits; all ones = infinity                  [used]
    5-6    TT   aperture, T-number x 100, 12 bits                             [used]
    7-8    tt   aperture ring: T x 10, then tenths of a stop (display only)
    9-10   zz   zoom EFL in mm, 12 bits; 0 on a prime                         [used]
    11-22  hhhh nnnn ffff  hyperfocal, near and far focus, 24 bits each
    23-24  vv   horizontal field of view, degrees x 10
    25-26  ee   entrance pupil: byte 25 bit 5 = sign (set: negative), byte 25
                bits 3-0 = magnitude bits 9-6, byte 26 bits 5-0 = bits 5-0    [used]
    27-28  ZZ   normalised zoom (absent on S4/i firmware before 4.01)
    then   'S' and the 9-character serial number, optional appended data (5/i EDSU),
           optional 2 checksum characters (G mode), LF CR

ASCII ``D`` reply (reply to ``D``, streamed after ``C``), fixed columns::

    D sssssss T aaaa t bbbbb Z ffff H hhhhhhh N nnnnnnn F fffffff V vvv.v E seee z mmmm S x9

Distances (focus, entrance pupil) are in the lens' display units: 1 mm (metric, ``Y``) or
0.1 inch (imperial, ``X``). The default start commands select metric; a parser made with
``imperial=True`` reads 0.1 inch. Primes report zoom 0: their focal length comes from the ``N``
reply (``L P N xxx``), once the lens has sent it.

UNVERIFIED (no hardware, no published capture at hand): the reference plane and sign of the
entrance pupil (taken as reported, metres = value / 1000, as camdkit does); whether bit 4 of
byte 25 carries anything (ignored, as camdkit does); how the ASCII reply writes an infinite focus
(a focus field with ``INF`` in it is taken as infinity, other non-digits are rejected); the
N reply's focal length tag (N in the template, F or f in S4/i examples: all are accepted, found
by searching for ``L<P|Z>`` after the serial and owner fields rather than by column). An infinite focus is
reported as ``focus_distance_m = None`` (no finite number to send downstream).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from tracking.encoders.lines import LensData, LensItem, LensNotice, LensReject, LineSplitter, quote

#: Start commands for continuous packed binary data: identify (the lens wants N first), metric
#: display units, continuous ``Kc``. Each ends in CR.
START_BINARY: tuple[bytes, ...] = (b"N\r", b"Y\r", b"Kc\r")
#: The same with continuous ASCII ``D`` replies (``C``).
START_ASCII: tuple[bytes, ...] = (b"N\r", b"Y\r", b"C\r")
#: Stops continuous mode (and checksum and inhibit-error modes).
STOP: bytes = b"H\r"

#: The longest reply kept: a 41-byte d frame + 60 bytes of 5/i appended data + checksum, with room.
MAX_LINE = 160
#: Bytes of a d frame that carry the values read here (tag through entrance pupil).
BINARY_MIN = 27
INFINITE_FOCUS = (1 << 24) - 1
MM_PER_TENTH_INCH = 2.54

_ASCII = re.compile(rb"D(?P<focus>.{7})T(?P<t>[0-9]{4})t.{5}Z(?P<zoom>[0-9]{4})H.{7}N.{7}F.{7}V.{5}"
                    rb"E(?P<ep>[+-][0-9]{3})", re.DOTALL)
# "LPN040M040" (template), "LPF100N100" (the manual's own S4/i example), "LPf..." (S4/i primes)
_FIXED = re.compile(rb"L(?P<kind>[PZ])[NfF](?P<low>[0-9]{3})(?:[MN](?P<high>[0-9]{3}))?")
_FIRMWARE = re.compile(rb"B ?(?P<version>[0-9]+\.[0-9]+)")
_ERRORS = {b"?": "the lens did not understand a command (?)",
           b"^": "the lens has locked this channel out for now (^)",
           b"@": "the lens reports loss of program (@)"}


class CookeLensInfo(NamedTuple):
    """What the lens says about itself in its ``N`` reply."""

    serial: str
    kind: str
    """``prime`` or ``zoom``."""
    focal_length_mm: int
    """A prime's focal length, a zoom's shortest."""
    max_focal_length_mm: int | None
    firmware: str | None

    def describe(self) -> str:
        """``/i prime 40 mm, serial G53599764, firmware 1.00`` (other makers speak /i too)."""
        span = (f"{self.focal_length_mm}-{self.max_focal_length_mm} mm"
                if self.kind == "zoom" and self.max_focal_length_mm else f"{self.focal_length_mm} mm")
        firmware = f", firmware {self.firmware}" if self.firmware else ""
        return f"/i {self.kind} {span}, serial {self.serial or '?'}{firmware}"


class CookeParser:
    """Incremental parser of a Cooke /i reply stream: readings, notices and rejections in order.

    Never raises; keeps at most :data:`MAX_LINE` bytes between feeds. ``lens`` is the newest
    ``N`` reply (used for a prime's focal length). Rejection reasons: ``format`` (not a reply
    this parser knows), ``length`` (a d frame too short), ``value`` (a field that is not a
    number), ``lens_error`` (the lens answered ``?``, ``^`` or ``@``), ``too_long``.
    """

    def __init__(self, *, imperial: bool = False) -> None:
        self._lines = LineSplitter(MAX_LINE)
        self.unit_mm = MM_PER_TENTH_INCH if imperial else 1.0
        self.lens: CookeLensInfo | None = None

    @property
    def pending(self) -> int:
        """Bytes held as a reply not yet ended."""
        return self._lines.pending

    def feed(self, data: bytes) -> list[LensItem]:
        """Parse ``data`` (appended to what came before)."""
        return [line if isinstance(line, LensReject) else self.parse_line(line)
                for line in self._lines.feed(data)]

    def flush(self) -> list[LensItem]:
        """Nothing to report when the line goes quiet: a half reply waits for its end."""
        return []

    def parse_line(self, line: bytes) -> LensItem:
        """One reply (without its LF CR)."""
        head = line[:1]
        if head == b"d":
            return self._binary(line)
        if head == b"D":
            return self._ascii(line)
        if head == b"N" and len(line) > 12:
            return self._fixed(line)
        if line in (b"<", b"+++<"):
            return LensNotice("power_on", "the lens powered on and waits for its start commands")
        if head == b"!" or (head in (b"B", b"P", b"K", b"O") and _printable(line)):
            return LensNotice("ack", line.decode("ascii", "replace"))
        if head in _ERRORS:
            return LensReject("lens_error", f"{_ERRORS[head]}: {quote(line)}")
        return LensReject("format", f"not a Cooke /i reply: {quote(line)}")

    def _binary(self, frame: bytes) -> LensData | LensReject:
        if len(frame) < BINARY_MIN:
            return LensReject("length", f"packed binary frame of {len(frame)} bytes, needs {BINARY_MIN}: "
                                        f"{quote(frame)}")
        for index in range(1, BINARY_MIN):
            if not frame[index] & 0xC0:
                return LensReject("format", f"packed binary byte {index} is 0x{frame[index]:02X} "
                                            f"(neither bit 6 nor 7 set): {quote(frame)}")
        focus = _packed(frame, 1, 4)
        sign = -1 if frame[25] & 0x20 else 1
        pupil = sign * (((frame[25] & 0x0F) << 6) | (frame[26] & 0x3F))
        return self._data(None if focus == INFINITE_FOCUS else focus, _packed(frame, 5, 2),
                          _packed(frame, 9, 2), pupil)

    def _ascii(self, line: bytes) -> LensData | LensReject:
        match = _ASCII.match(line)
        if match is None:
            return LensReject("format", f"not a Cooke /i D reply: {quote(line)}")
        text = match["focus"].strip()
        if text.isdigit():
            focus: int | None = int(text)
        elif b"INF" in text.upper():
            focus = None
        else:
            what = quote(match["focus"])
            return LensReject("value", f"focus distance {what} is not a number: {quote(line)}")
        return self._data(focus, int(match["t"]), int(match["zoom"]), int(match["ep"]))

    def _data(self, focus: int | None, t_stop_x100: int, zoom_mm: int, pupil: int) -> LensData:
        """A reading from the lens' numbers (distances in display units, None focus = infinity)."""
        lens = self.lens
        focal: float | None = float(zoom_mm) if zoom_mm else None
        if focal is None and lens is not None and lens.kind == "prime":
            focal = float(lens.focal_length_mm)
        unit_mm = self.unit_mm  # multiply, then divide: 407 mm is 0.407 m, not 407 * 0.001
        return LensData(focus_distance_m=None if focus is None else focus * unit_mm / 1000.0,
                        t_stop=t_stop_x100 / 100.0 if t_stop_x100 else None,
                        focal_length_mm=focal, entrance_pupil_offset_m=pupil * unit_mm / 1000.0)

    def _fixed(self, line: bytes) -> LensNotice | LensReject:
        serial = line[2:11].decode("ascii", "replace").strip() if line[1:2] == b"S" else ""
        match = _FIXED.search(line, 12)
        if match is None:
            return LensReject("format", f"N reply without lens type and focal length: {quote(line)}")
        firmware = _FIRMWARE.search(line, match.end())
        high = match["high"]
        self.lens = CookeLensInfo(serial, "prime" if match["kind"] == b"P" else "zoom", int(match["low"]),
                                  int(high) if high else None,
                                  firmware["version"].decode() if firmware else None)
        return LensNotice("lens", self.lens.describe())


def _printable(line: bytes) -> bool:
    """Whether ``line`` is all printable ASCII (a reply to a command this parser does not read)."""
    return line.isascii() and line.decode("ascii").isprintable()


def _packed(frame: bytes, start: int, count: int) -> int:
    """The number in the low 6 bits of ``count`` bytes from ``start``, most significant first."""
    value = 0
    for byte in frame[start:start + count]:
        value = (value << 6) | (byte & 0x3F)
    return value
