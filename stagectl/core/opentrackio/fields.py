"""Typed, range-checked reads of decoded OpenTrackIO fields; a bad value names its JSON path.

Every reader takes the containing map, the key and the path of the map (``"lens.encoders"``),
returns None when the key is absent and raises DecodeError(reason "value") when it is present
but wrong: a wrong type (a bool is not a number, null is not a value), NaN or infinity, out of
range, a string too long or not matching its pattern. Paths are only formatted on error.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from stagectl.core.errors import DecodeError

#: The schema's maxLength for every free-text field.
MAX_STRING_CHARS = 1023
#: Cap on list lengths (distortion entries, coefficients, transforms, ids). The schema sets none; this
#: is a resource limit like the payload's 256 KiB (a longer list is refused as ``too_large``), far
#: above any real tracker (one to three transforms, a handful of coefficients).
MAX_LIST_ITEMS = 1024
#: The schema's largest sampleTimestamp / recordedTimestamp nanoseconds (u32); more than 999999999
#: is schema-valid, kept as sent and flagged.
U32_MAX = 0xFFFFFFFF
I32_MAX = 0x7FFFFFFF
URN_UUID = re.compile(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_MISSING: Any = object()


def path_of(where: str, key: str | int) -> str:
    """``where`` + ``key`` as a JSON path: ``lens.encoders.focus``, ``transforms[2]``."""
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else key


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _type_name(value: object) -> str:
    return {bool: "a boolean", type(None): "null", dict: "a map", list: "a list", str: "a string",
            int: "an integer", float: "a number", bytes: "bytes"}.get(type(value), type(value).__name__)


def invalid(where: str, key: str | int, problem: str) -> DecodeError:
    """The DecodeError for the field at ``where``/``key``."""
    return DecodeError("value", f"{path_of(where, key)}: {problem}")


def block(obj: Mapping[str, Any], key: str, where: str,
          required: tuple[str, ...] = ()) -> Mapping[str, Any] | None:
    """The map at ``key`` (None when absent); each of ``required`` must be in it."""
    value = obj.get(key, _MISSING)
    if value is _MISSING:
        return None
    if type(value) is not dict:
        raise invalid(where, key, f"must be a map, got {_type_name(value)}")
    for name in required:
        if name not in value:
            raise invalid(path_of(where, key), name, "is required here and missing")
    return value


def items(obj: Mapping[str, Any], key: str, where: str, min_items: int = 0,
          max_items: int = MAX_LIST_ITEMS) -> list[Any] | None:
    """The list at ``key`` (None when absent), ``min_items``..``max_items`` long."""
    value = obj.get(key, _MISSING)
    if value is _MISSING:
        return None
    if type(value) is not list:
        raise invalid(where, key, f"must be a list, got {_type_name(value)}")
    if len(value) > max_items:
        raise DecodeError("too_large", f"{path_of(where, key)}: has {len(value)} items; stagectl takes at "
                                       f"most {max_items}")
    if len(value) < min_items:
        raise invalid(where, key, f"has {len(value)} items, allowed {min_items}..{max_items}")
    return value


def as_number(value: Any, where: str, key: str | int, *, minimum: float | None = None,
              maximum: float | None = None, above: float | None = None) -> float:
    """``value`` as a finite float within the bounds (``above`` is an exclusive minimum)."""
    kind = type(value)
    if kind is not float and kind is not int:
        raise invalid(where, key, f"must be a number, got {_type_name(value)}")
    try:
        number = float(value)
    except OverflowError:
        raise invalid(where, key, "is too large to be a number") from None
    if not math.isfinite(number):
        raise invalid(where, key, f"must be a finite number, got {number}")
    if minimum is not None and number < minimum:
        raise invalid(where, key, f"{number:g} is below the minimum {minimum:g}")
    if maximum is not None and number > maximum:
        raise invalid(where, key, f"{number:g} is above the maximum {maximum:g}")
    if above is not None and number <= above:
        raise invalid(where, key, f"{number:g} must be greater than {above:g}")
    return number


def number(obj: Mapping[str, Any], key: str, where: str, *, minimum: float | None = None,
           maximum: float | None = None, above: float | None = None) -> float | None:
    """The finite number at ``key`` (None when absent); see :func:`as_number`."""
    value = obj.get(key, _MISSING)
    if value is _MISSING:
        return None
    return as_number(value, where, key, minimum=minimum, maximum=maximum, above=above)


def as_integer(value: Any, where: str, key: str | int, minimum: int, maximum: int) -> int:
    """``value`` as an int in ``minimum..maximum``; an integral float (4.0) counts, as in JSON Schema."""
    kind = type(value)
    if kind is float and math.isfinite(value) and value.is_integer():
        value = int(value)
    elif kind is not int:
        raise invalid(where, key, f"must be an integer, got {_type_name(value)} {_shown(value)}")
    if not minimum <= value <= maximum:
        raise invalid(where, key, f"{_shown(value)} is outside {minimum}..{maximum}")
    return int(value)


def integer(obj: Mapping[str, Any], key: str, where: str, minimum: int = 0,
            maximum: int = U32_MAX) -> int | None:
    """The integer at ``key`` (None when absent), ``minimum..maximum``."""
    value = obj.get(key, _MISSING)
    if value is _MISSING:
        return None
    return as_integer(value, where, key, minimum, maximum)


def boolean(obj: Mapping[str, Any], key: str, where: str) -> bool | None:
    """The boolean at ``key`` (None when absent)."""
    value = obj.get(key, _MISSING)
    if value is _MISSING:
        return None
    if type(value) is not bool:
        raise invalid(where, key, f"must be true or false, got {_type_name(value)}")
    return value


def as_string(value: Any, where: str, key: str | int, *, choices: tuple[str, ...] = (),
              pattern: re.Pattern[str] | None = None) -> str:
    """``value`` as a 1..1023-character string; one of ``choices`` or, lowercased, matching ``pattern``."""
    if type(value) is not str:
        raise invalid(where, key, f"must be a string, got {_type_name(value)}")
    if not 1 <= len(value) <= MAX_STRING_CHARS:
        raise invalid(where, key, f"has {len(value)} characters, allowed 1..{MAX_STRING_CHARS}")
    if choices and value not in choices:
        raise invalid(where, key, f"{_shown(value)} is not one of {', '.join(choices)}")
    if pattern is not None:
        value = value.lower()  # UUIDs and MAC addresses: hex digits are case-insensitive
        if not pattern.fullmatch(value):
            raise invalid(where, key, f"{_shown(value)} does not match {pattern.pattern}")
    return str(value)


def string(obj: Mapping[str, Any], key: str, where: str, *, choices: tuple[str, ...] = (),
           pattern: re.Pattern[str] | None = None) -> str | None:
    """The string at ``key`` (None when absent); see :func:`as_string`."""
    value = obj.get(key, _MISSING)
    if value is _MISSING:
        return None
    return as_string(value, where, key, choices=choices, pattern=pattern)


def rational(obj: Mapping[str, Any], key: str, where: str) -> Fraction | None:
    """``{"num": n, "denom": d}`` (n 1..2**31-1, d 1..2**32-1) as a Fraction (None when absent)."""
    value = block(obj, key, where, required=("num", "denom"))
    if value is None:
        return None
    inner = path_of(where, key)
    return Fraction(as_integer(value["num"], inner, "num", 1, I32_MAX),
                    as_integer(value["denom"], inner, "denom", 1, U32_MAX))


def timestamp(obj: Mapping[str, Any], key: str, where: str) -> tuple[int, int] | None:
    """``{"seconds": 48-bit, "nanoseconds": u32}`` as sent, (seconds, nanoseconds) (None when absent).

    The schema allows nanoseconds up to 2**32 - 1; above 999999999 is odd, not invalid: the pair is
    kept as sent (``sum`` of seconds and nanoseconds is the instant it names).
    """
    value = block(obj, key, where, required=("seconds", "nanoseconds"))
    if value is None:
        return None
    inner = path_of(where, key)
    seconds = as_integer(value["seconds"], inner, "seconds", 0, (1 << 48) - 1)
    nanoseconds = as_integer(value["nanoseconds"], inner, "nanoseconds", 0, U32_MAX)
    return seconds, nanoseconds


def numbers(obj: Mapping[str, Any], key: str, where: str, min_items: int = 1) -> tuple[float, ...] | None:
    """A list of finite numbers (None when absent)."""
    values = items(obj, key, where, min_items)
    if values is None:
        return None
    inner = path_of(where, key)
    return tuple(as_number(v, inner, i) for i, v in enumerate(values))


def xy(obj: Mapping[str, Any], key: str, where: str) -> tuple[float, float] | None:
    """``{"x": .., "y": ..}`` (both required) as a tuple (None when absent)."""
    value = block(obj, key, where, required=("x", "y"))
    if value is None:
        return None
    inner = path_of(where, key)
    return as_number(value["x"], inner, "x"), as_number(value["y"], inner, "y")
