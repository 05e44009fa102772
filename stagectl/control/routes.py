"""What each control-in OSC address means: address + arguments -> one call on ControlActions.

Pure functions, no I/O: :func:`parse_command` turns a decoded message into a :class:`Command`
(or None for a button release) or raises :class:`RouteError` with the counter reason
(``unknown_address`` or ``bad_arguments``) and a message for the sender. docs/control.md is the
reference for the addresses; the rules that apply to all of them:

* **Names in addresses** (look, cue, device, feature) are percent-decoded as in URLs, UTF-8:
  ``/stagectl/look/Golden%20hour/recall``. ``+`` stays a plus. A literal space is accepted too
  (OSC forbids it, but several senders send it). OSC address patterns (``* ? [ ] { }``) are not
  expanded: one message per target.
* **Triggers** (cue go/back, look recall, blackout, take record/stop) take no argument, or one
  number or boolean as button edge: non-zero/true fires, 0/false is the release and is ignored
  (TouchOSC, Eos and most desk buttons send 1 on press and 0 on release; firing on both would
  run a cue twice).
* **Numbers** may be int32 (i), int64 (h), float32 (f) or float64 (d); NaN and infinity are
  refused here, before any device sees them. A float32 is read as the shortest decimal that
  encodes to the same float32, so a desk's 0.1 arrives as 0.1, not 0.10000000149.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from stagectl.control.protocol import ControlActions, Setting
from stagectl.core.errors import StageError
from stagectl.core.osc import OscArg, OscMessage

ROOT = "stagectl"
#: Longest fade accepted, seconds.
MAX_FADE_S = 3600.0
#: Longest name (look, cue, device, feature) after decoding, characters.
MAX_NAME = 128
MAX_SLATE_FIELDS = 32
MAX_SLATE_VALUE = 256
_SLATE_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_PATTERN_CHARS = set("*?[]{}")
_NUMBER_TAGS = "ifhd"
_FLOAT32 = struct.Struct(">f")

class RouteError(StageError):
    """A message that names no known address or carries the wrong arguments.

    ``reason`` is the counter key: ``unknown_address`` or ``bad_arguments``.
    """

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Command:
    """One decoded request: ``run(actions)`` performs it and returns the reply text.

    ``label`` describes it for logs and events (``look recall 'Golden hour'``); ``discrete`` is
    True for things an operator wants in the event log (cues, looks, blackout, takes) and False
    for continuous ones (device values a fader may send 30 times a second).
    """

    label: str
    run: Callable[[ControlActions], str]
    discrete: bool = True


def _bad(message: str) -> RouteError:
    return RouteError("bad_arguments", message)


def _unknown(address: str, hint: str = "") -> RouteError:
    extra = f": {hint}" if hint else ""
    return RouteError("unknown_address", f"unknown address {address}{extra} (see docs/control.md)")


def float32_value(value: float) -> float:
    """The shortest decimal reading of a float32 (0.1f -> 0.1); other floats unchanged."""
    try:
        packed = _FLOAT32.pack(value)
    except OverflowError:
        return value
    for digits in range(6, 10):
        candidate = float(f"{value:.{digits}g}")
        if _FLOAT32.pack(candidate) == packed:
            return candidate
    return value


def number(tag: str, value: OscArg, what: str) -> float | int:
    """A finite number from an i/h/f/d argument; RouteError(bad_arguments) otherwise."""
    if tag not in _NUMBER_TAGS or isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(f"{what} must be a number (OSC i, h, f or d), got {_describe(tag, value)}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _bad(f"{what} must be a finite number, got {value!r}")
        return float32_value(value) if tag == "f" else value
    return value


def _describe(tag: str, value: OscArg) -> str:
    kinds = {"s": "string", "S": "symbol", "b": "blob", "T": "true", "F": "false", "N": "nil",
             "I": "impulse", "c": "char", "m": "MIDI", "t": "timetag", "r": "colour", "[": "array"}
    kind = kinds.get(tag, "number")
    if tag in "sSc":
        return f"{kind} {value!r} ({tag})"
    return f"{kind} ({tag})"


def name(segment: str, what: str) -> str:
    """A percent-decoded, checked name from one address segment."""
    try:
        decoded = unquote(segment, errors="strict")
    except UnicodeDecodeError:
        raise _bad(f"{what} {segment!r} is not UTF-8 after percent-decoding") from None
    if not decoded.strip():
        raise _bad(f"{what} is empty")
    if len(decoded) > MAX_NAME:
        raise _bad(f"{what} is longer than {MAX_NAME} characters")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in decoded):
        raise _bad(f"{what} {decoded!r} contains control characters")
    return decoded


def pressed(message: OscMessage) -> bool:
    """True to fire a trigger, False for a button release; RouteError for other arguments."""
    if not message.args:
        return True
    if len(message.args) == 1:
        tag, value = message.type_tags[0], message.args[0]
        if tag in "TF":
            return tag == "T"
        if tag in _NUMBER_TAGS:
            return number(tag, value, "the button value") != 0
    raise _bad(f"{message.address} takes no argument, or one number as a button edge "
               f"(1 fires, 0 is ignored); got {len(message.args)} argument(s) "
               f"'{message.type_tags}'")


def device_value(tag: str, value: OscArg) -> Setting:
    """A ``device_set`` value: a number, a boolean (T/F) or a string (s/S)."""
    if tag in "TF":
        return tag == "T"
    if tag in "sS" and isinstance(value, str):
        return value
    return number(tag, value, "the value")


def slate(message: OscMessage) -> dict[str, str]:
    """Slate fields from ``key=value`` string arguments (``scene=12A`` ``take=3``)."""
    if len(message.args) > MAX_SLATE_FIELDS:
        raise _bad(f"at most {MAX_SLATE_FIELDS} slate fields, got {len(message.args)}")
    fields: dict[str, str] = {}
    for position, (tag, value) in enumerate(zip(message.type_tags, message.args, strict=True), 1):
        if tag not in "sS" or not isinstance(value, str):
            raise _bad(f"slate field {position} must be a string key=value, got {_describe(tag, value)}")
        key, sep, text = value.partition("=")
        key = key.strip()
        if not sep or not _SLATE_KEY.fullmatch(key):
            raise _bad(f"slate field {position} {value!r} is not key=value with a key of letters, "
                       "digits, '_', '-' or '.' (e.g. scene=12A)")
        if key in fields:
            raise _bad(f"slate field {key!r} is given twice")
        if len(text) > MAX_SLATE_VALUE:
            raise _bad(f"slate field {key!r} is longer than {MAX_SLATE_VALUE} characters")
        if not text.isprintable():  # a slate goes into line-based exports (ALE, EDL comments, CSV)
            raise _bad(f"slate field {key!r} contains control characters (a newline, tab, escape, ...)")
        fields[key] = text
    return fields


def _trigger(message: OscMessage, label: str, run: Callable[[ControlActions], str]) -> Command | None:
    return Command(label, run) if pressed(message) else None


def parse_command(message: OscMessage) -> Command | None:
    """The command ``message`` asks for; None for a button release (nothing to do).

    Raises RouteError. The server handles ``/stagectl/ping``, ``/stagectl/auth`` and
    ``/stagectl/state`` itself, before this is called.
    """
    address = message.address
    if _PATTERN_CHARS & set(address):
        raise _unknown(address, "OSC address patterns (* ? [ ] { }) are not expanded; "
                                "send one message per target")
    parts = address.split("/")[1:]
    if len(parts) < 2 or parts[0] != ROOT:
        raise _unknown(address, f"stagectl addresses start with /{ROOT}/")
    verb, rest = parts[1], parts[2:]
    if verb == "cue":
        return _cue(message, rest)
    if verb == "look":
        return _look(message, rest)
    if verb == "device":
        return _device(message, rest)
    if verb == "blackout" and not rest:
        return _trigger(message, "blackout", lambda actions: actions.blackout())
    if verb == "take":
        return _take(message, rest)
    if verb == "hold" and not rest:
        return _hold(message)
    if verb == "fade" and not rest:
        seconds = float(_one_number(message, "the fade time"))
        if not 0.0 <= seconds <= MAX_FADE_S:
            raise _bad(f"the fade time must be 0..{MAX_FADE_S:g} seconds, got {seconds:g}")
        return Command(f"fade time {seconds:g} s", lambda actions: actions.fade_time(seconds))
    if verb == "nudge":
        return _nudge(message, rest)
    raise _unknown(address)


def _one_number(message: OscMessage, what: str) -> float | int:
    if len(message.args) != 1:
        raise _bad(f"{message.address} takes one number ({what}), got {len(message.args)} argument(s)")
    return number(message.type_tags[0], message.args[0], what)


def _hold(message: OscMessage) -> Command:
    """``/stagectl/hold 1`` holds the running fades, ``0`` lets them go on (a state, not an edge: a
    latching button sends both)."""
    if len(message.args) != 1:
        raise _bad("/stagectl/hold takes one value: 1 (or T) holds the fades, 0 (or F) lets them go on")
    tag = message.type_tags[0]
    on = tag == "T" if tag in "TF" else number(tag, message.args[0], "the hold value") != 0
    return Command(f"hold {'on' if on else 'off'}", lambda actions: actions.hold(on))


def _nudge(message: OscMessage, rest: list[str]) -> Command | None:
    if rest in (["undo"], ["redo"]):
        verb = rest[0]
        return _trigger(message, f"nudge {verb}",
                        (lambda a: a.nudge_undo()) if verb == "undo" else (lambda a: a.nudge_redo()))
    if len(rest) == 1 and message.args:
        kind = name(rest[0], "nudge")
        amount = float(number(message.type_tags[0], message.args[0], "the nudge amount"))
        zone = ""
        if len(message.args) == 2:
            if message.type_tags[1] not in "sS" or not isinstance(message.args[1], str):
                raise _bad(f"{message.address}'s second argument is a zone name (a string)")
            zone = name(message.args[1], "zone name")
        elif len(message.args) > 2:
            raise _bad(f"{message.address} takes an amount and an optional zone, got {len(message.args)} "
                       "arguments")
        return Command(f"nudge {kind} {amount:+g}" + (f" in {zone}" if zone else ""),
                       lambda actions: actions.nudge(kind, amount, zone))
    raise _unknown(message.address, "nudge addresses are /stagectl/nudge/<brightness|cct|tint> <amount> "
                                     "[zone], /stagectl/nudge/undo and /stagectl/nudge/redo")


def _cue(message: OscMessage, rest: list[str]) -> Command | None:
    if rest == ["go"]:
        return _trigger(message, "cue go", lambda actions: actions.cue_go())
    if rest == ["back"]:
        return _trigger(message, "cue back", lambda actions: actions.cue_back())
    if len(rest) == 2 and rest[1] == "go":
        number_text = name(rest[0], "cue number")
        return _trigger(message, f"cue {number_text} go", lambda actions: actions.cue_goto(number_text))
    raise _unknown(message.address, "cue addresses are /stagectl/cue/go, /stagectl/cue/back and "
                                     "/stagectl/cue/<number>/go")


def _look(message: OscMessage, rest: list[str]) -> Command | None:
    if rest == ["recall"]:
        if len(message.args) != 1 or message.type_tags not in ("s", "S"):
            raise _bad("/stagectl/look/recall takes one string: the look's name")
        look = name(str(message.args[0]), "look name")
    elif len(rest) == 2 and rest[1] == "recall":
        look = name(rest[0], "look name")
        if not pressed(message):
            return None
    else:
        raise _unknown(message.address, "look addresses are /stagectl/look/<name>/recall and "
                                         "/stagectl/look/recall <name>")
    return Command(f"look recall {look!r}", lambda actions: actions.look_recall(look))


def _device(message: OscMessage, rest: list[str]) -> Command:
    if len(rest) == 2:
        device, feature = name(rest[0], "device name"), name(rest[1], "feature name")
        if len(message.args) != 1:
            raise _bad(f"{message.address} takes one value, got {len(message.args)} argument(s)")
        value = device_value(message.type_tags[0], message.args[0])
        return Command(f"device {device} {feature} = {value!r}",
                       lambda actions: actions.device_set(device, feature, value), discrete=False)
    if len(rest) == 3 and rest[2] == "fade":
        device, feature = name(rest[0], "device name"), name(rest[1], "feature name")
        if len(message.args) != 2:
            raise _bad(f"{message.address} takes two numbers: value and seconds, got "
                       f"{len(message.args)} argument(s)")
        target = float(number(message.type_tags[0], message.args[0], "the value"))
        seconds = float(number(message.type_tags[1], message.args[1], "the fade time"))
        if not 0.0 <= seconds <= MAX_FADE_S:
            raise _bad(f"the fade time must be 0..{MAX_FADE_S:g} seconds, got {seconds:g}")
        return Command(f"device {device} {feature} fade to {target:g} in {seconds:g} s",
                       lambda actions: actions.device_fade(device, feature, target, seconds), discrete=False)
    raise _unknown(message.address, "device addresses are /stagectl/device/<device>/<feature> and "
                                     "/stagectl/device/<device>/<feature>/fade")


def _take(message: OscMessage, rest: list[str]) -> Command | None:
    if rest == ["record"]:
        if message.type_tags and all(tag in _NUMBER_TAGS + "TF" for tag in message.type_tags):
            if not pressed(message):  # a button sending 1/0 and no slate
                return None
            fields: dict[str, str] = {}
        else:
            fields = slate(message)
        described = " ".join(f"{k}={v!r}" for k, v in fields.items())
        return Command(f"take record {described}".rstrip(), lambda actions: actions.take_record(fields))
    if rest == ["stop"]:
        return _trigger(message, "take stop", lambda actions: actions.take_stop())
    if rest == ["note"]:
        if len(message.args) != 1 or message.type_tags not in ("s", "S"):
            raise _bad("/stagectl/take/note takes one string: the note")
        note = str(message.args[0])
        if len(note) > MAX_SLATE_VALUE or not note.isprintable():
            raise _bad(f"a note is one line of at most {MAX_SLATE_VALUE} printable characters")
        return Command("take note", lambda actions: actions.take_note(note))
    if len(rest) == 2 and rest[1] in _FLAG_VERBS:
        which = rest[0]
        if which != "last" and not (which.isdigit() and 0 < int(which) < 2**31):
            raise _bad(f"{message.address}: name the take by its store id (e.g. 12) or 'last'")
        take_id = None if which == "last" else int(which)
        flags = _FLAG_VERBS[rest[1]]
        return _trigger(message, f"take {which} {rest[1]}",
                        lambda actions: actions.take_flags(take_id, **flags))
    raise _unknown(message.address, "take addresses are /stagectl/take/record, /stagectl/take/stop, "
                                     "/stagectl/take/note and /stagectl/take/<id|last>/<circle|ng|clear>")


#: Flag triggers on a stored take: what each sets.
_FLAG_VERBS: dict[str, dict[str, bool]] = {
    "circle": {"circled": True}, "ng": {"no_good": True}, "clear": {"circled": False, "no_good": False}}
