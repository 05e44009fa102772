"""What each remote form does: its fields checked, then one call on the stage's control actions.

The same :class:`~stagectl.control.protocol.ControlActions` object OSC control-in drives: one
implementation of every action, two transports. A field that is missing or malformed is a
:class:`FormError` saying which and what is allowed; a refusal by the stage is its
:class:`~stagectl.core.errors.StageError`, shown on the page as is.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from stagectl.control.protocol import ControlActions
from stagectl.core.errors import StageError

#: Longest note, characters (a phone's paste of a whole script is refused, not cut).
MAX_NOTE = 2000
#: Longest slate field, characters.
MAX_SLATE = 128

Form = Mapping[str, str]


class FormError(StageError):
    """A form field missing or malformed (the page shows the message)."""


def _text(form: Form, name: str, limit: int = MAX_SLATE, *, required: bool = True) -> str:
    value = form.get(name)
    if value is None:
        if required:
            raise FormError(f"the form has no {name!r} field")
        return ""
    if len(value) > limit:
        raise FormError(f"{name} is {len(value)} characters; allowed: up to {limit}")
    return value


def _number(form: Form, name: str) -> float:
    text = _text(form, name, 32).strip()
    try:
        value = float(text)
    except ValueError:
        raise FormError(f"{name} must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise FormError(f"{name} must be a finite number, got {text!r}")
    return value


def _switch(form: Form, name: str) -> bool | None:
    value = form.get(name)
    if value is None:
        return None
    if value not in ("0", "1"):
        raise FormError(f"{name} must be 0 or 1, got {value[:16]!r}")
    return value == "1"


def _nudge(actions: ControlActions, form: Form) -> str:
    kind, _, amount = _text(form, "nudge", 64).partition(":")
    try:
        value = float(amount)
    except ValueError:
        raise FormError(f"nudge must be kind:amount (e.g. brightness:0.333), "
                        f"got {form['nudge'][:64]!r}") from None
    return actions.nudge(kind, value, _text(form, "zone", 64, required=False))


def _flag(actions: ControlActions, form: Form) -> str:
    text = _text(form, "take_id", 12).strip()
    if not text.isdigit():
        raise FormError(f"take_id must be a take's number, got {text!r}")
    return actions.take_flags(int(text), circled=_switch(form, "circled"), no_good=_switch(form, "no_good"))


def _slate(actions: ControlActions, form: Form) -> str:
    fields = {key: _text(form, key).strip() for key in ("production", "scene", "shot", "take") if key in form}
    if not fields:
        raise FormError("the slate form has no field (production, scene, shot, take)")
    return actions.slate(fields)


def _hold(actions: ControlActions, form: Form) -> str:
    on = _switch(form, "on")
    if on is None:
        raise FormError("the hold form has no 'on' field (1: hold, 0: release)")
    return actions.hold(on)


ACTIONS: dict[str, Callable[[ControlActions, Form], str]] = {
    "go": lambda a, _f: a.cue_go(),
    "back": lambda a, _f: a.cue_back(),
    "hold": _hold,
    "fade": lambda a, f: a.fade_time(_number(f, "seconds")),
    "recall": lambda a, f: a.look_recall(_text(f, "look")),
    "nudge": _nudge,
    "undo": lambda a, _f: a.nudge_undo(),
    "redo": lambda a, _f: a.nudge_redo(),
    "note": lambda a, f: a.take_note(_text(f, "text", MAX_NOTE)),
    "slate": _slate,
    "flag": _flag,
}
"""Form name (``POST /action/<name>``) -> what it does."""
