"""A measured sample rate as the exact rate OpenTrackIO's ``timing.sampleRate`` carries."""

from __future__ import annotations

from fractions import Fraction

#: Rates a sample rate is snapped to when the measured one is within RATE_SNAP of it.
STANDARD_RATES = tuple(Fraction(n, d) for n, d in (
    (24000, 1001), (24, 1), (25, 1), (30000, 1001), (30, 1), (48, 1), (50, 1), (60000, 1001), (60, 1),
    (100, 1), (120000, 1001), (120, 1)))


RATE_SNAP = 0.0004


def snap_rate(rate_hz: float) -> Fraction:
    """A measured rate as an exact one: the nearest standard video rate within 400 ppm (24 and
    24000/1001 are 1000 ppm apart), else an integer within 400 ppm, else rounded to 1/1000."""
    nearest = min(STANDARD_RATES, key=lambda r: abs(rate_hz - float(r)))
    if abs(rate_hz - float(nearest)) <= RATE_SNAP * float(nearest):
        return nearest
    whole = round(rate_hz)
    if whole and abs(rate_hz - whole) <= RATE_SNAP * whole:
        return Fraction(whole)
    return Fraction(round(rate_hz * 1000), 1000)
