"""The remote's pages as server-rendered HTML: login, landing, DP, script supervisor.

Every page works before (or without) any script: its buttons are forms that POST and come back
(post/redirect/get), its labels carry the state of the moment it was made. ``web.js`` then keeps the
page live from the WebSocket: an element with ``data-bind="key"`` shows the state's ``key``, one with
``data-html="key"`` is replaced by that fragment (made here, the same functions as the first render),
``data-flag="key"`` toggles the class ``on``. Every string that did not come from this module is
escaped (:func:`esc`); fragments sent over the WebSocket carry an empty CSRF field that the script
fills in from the page's own token.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from stagectl.takes.report.model import TakeLine

#: The nudge buttons: (label, kind, amount); amounts are the DP panel's steps.
NUDGE_BUTTONS = (
    ("−⅓ stop", "brightness", -1.0 / 3.0), ("+⅓ stop", "brightness", 1.0 / 3.0),
    ("Warmer", "cct", 10.0), ("Cooler", "cct", -10.0),
    ("Magenta", "tint", -0.001), ("Green", "tint", 0.001),
)
SLATE_LABELS = (("production", "Production"), ("scene", "Scene"), ("shot", "Shot"), ("take", "Take"))
#: Newest takes the script supervisor's page lists.
PAGE_TAKES = 30


def esc(value: object) -> str:
    """``value`` as text safe in HTML content and in a quoted attribute."""
    return html.escape(str(value), quote=True)


def _csrf(token: str) -> str:
    return f'<input type="hidden" name="csrf" value="{esc(token)}">'


def button_form(action: str, label: str, token: str, *, fields: Mapping[str, object] | None = None,
                cls: str = "", back: str = "") -> str:
    """A one-button form POSTing ``fields`` to ``action`` (and ``back``: where to return)."""
    hidden = "".join(f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">'
                     for k, v in (fields or {}).items())
    if back:
        hidden += f'<input type="hidden" name="back" value="{esc(back)}">'
    return (f'<form method="post" action="{esc(action)}" class="inline">{_csrf(token)}{hidden}'
            f'<button type="submit" class="{esc(cls)}">{esc(label)}</button></form>')


def document(title: str, body: str, *, page: str, token: str = "", stage: str = "", css: str = "",
             scripts: bool = True) -> str:
    """A whole page: head (viewport, CSS, the script), the top bar and ``body``.

    ``css`` inlines the style sheet (the login page, which is shown before any session: the static
    files need one)."""
    style = f"<style>{css}</style>" if css else '<link rel="stylesheet" href="/static/web.css">'
    script = '<script src="/static/web.js" defer></script>' if scripts and token else ""
    meta = f'<meta name="csrf-token" content="{esc(token)}">' if token else ""
    bar = ""
    if token:
        bar = (f'<header class="bar"><a class="home" href="/">stagectl</a>'
               f'<span class="stage">{esc(stage)}</span>'
               f'<span id="link" class="link" data-link>static</span>'
               f'{button_form("/logout", "Log out", token, cls="small")}</header>')
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="color-scheme" content="dark">{meta}<title>{esc(title)}</title>{style}{script}'
            f'</head><body class="page-{esc(page)}" data-page="{esc(page)}">{bar}{body}</body></html>\n')


def flash(text: str, error: bool) -> str:
    """The outcome of the last action (an empty live region when there is none)."""
    cls = "flash error" if error else "flash"
    return f'<p class="{cls}" id="flash" role="status" aria-live="polite">{esc(text)}</p>'


def login_page(css: str, *, next_path: str = "/", message: str = "", stage: str = "") -> str:
    """The login form: a password field that POSTs (works with JavaScript off and password managers)."""
    note = f'<p class="flash error" role="alert">{esc(message)}</p>' if message else ""
    body = (f'<main class="login"><h1>stagectl remote</h1><p class="muted">{esc(stage)}</p>{note}'
            f'<form method="post" action="/login" class="stack">'
            f'<input type="hidden" name="next" value="{esc(next_path)}">'
            f'<input type="text" name="username" value="stage" autocomplete="username" hidden>'
            f'<label for="passcode">Passcode</label>'
            f'<input id="passcode" name="passcode" type="password" autocomplete="current-password" required '
            f'autofocus><button type="submit" class="primary">Log in</button></form></main>')
    return document("Log in · stagectl", body, page="login", css=css)


def landing_page(state: Mapping[str, Any], token: str, note: tuple[str, bool]) -> str:
    """After login: a link to each page, and the stage in one line."""
    body = (f'<main class="landing">{flash(*note)}<h1>{esc(state.get("stage", ""))}</h1>'
            f'<p class="summary"><span data-bind="live_text">{esc(state.get("live_text", ""))}</span> · '
            f'<span data-bind="rec_text">{esc(state.get("rec_text", ""))}</span></p>'
            '<nav class="tiles"><a class="tile" href="/dp"><b>DP</b><span>Looks, cues, nudges, '
            'devices</span></a>'
            '<a class="tile" href="/script"><b>Script supervisor</b><span>Slate, notes, circle and '
            'NG</span></a>'
            f'<a class="tile" href="/report"><b>Daily report</b><span>Today\'s takes, printable</span></a>'
            f'</nav></main>')
    return document("stagectl remote", body, page="landing", token=token, stage=str(state.get("stage", "")))


def _bound(key: str, state: Mapping[str, Any], tag: str = "span", cls: str = "") -> str:
    klass = f' class="{esc(cls)}"' if cls else ""
    return f'<{tag}{klass} data-bind="{esc(key)}">{esc(state.get(key, ""))}</{tag}>'


def _flag(key: str, state: Mapping[str, Any], label: str) -> str:
    on = " on" if state.get(key) else ""
    return f'<span class="badge{on}" data-flag="{esc(key)}">{esc(label)}</span>'


def dp_page(state: Mapping[str, Any], token: str, note: tuple[str, bool]) -> str:
    """The DP's tablet: live look and next cue, GO / BACK / HOLD, fade time, nudges, looks, devices."""
    held = bool(state.get("held"))
    fade = state.get("fade_s", 0.0)
    zones = "".join(f'<option value="{esc(z)}">{esc(z)}</option>' for z in state.get("zones", ()))
    nudges = "".join(f'<button type="submit" name="nudge" value="{esc(kind)}:{amount!r}">'
                     f'{esc(label)}</button>'
                     for label, kind, amount in NUDGE_BUTTONS)
    body = (
        f'<main class="dp">{flash(*note)}'
        f'<section class="live"><div class="now">{_bound("live_text", state, "h1")}'
        f'<p class="next">next: {_bound("next_text", state)}</p>'
        f'<p class="badges">{_flag("held", state, "HELD")}{_flag("blackout", state, "BLACKOUT")}'
        f'{_flag("nudged", state, "NUDGED")}{_flag("fading", state, "FADING")}</p></div></section>'
        f'<section class="transport">'
        f'{button_form("/action/go", "GO", token, cls="go", back="/dp")}'
        f'{button_form("/action/back", "BACK", token, cls="back", back="/dp")}'
        f'<form method="post" action="/action/hold" class="inline">{_csrf(token)}'
        f'<input type="hidden" name="back" value="/dp">'
        f'<input type="hidden" name="on" value="{"0" if held else "1"}" data-hold-value>'
        f'<button type="submit" class="hold{" on" if held else ""}" data-flag="held">HOLD</button></form>'
        f'</section>'
        f'<section class="panel fade"><h2>Fade time</h2>'
        f'<form method="post" action="/action/fade" class="row">'
        f'{_csrf(token)}<input type="hidden" name="back" value="/dp">'
        f'<input name="seconds" type="number" inputmode="decimal" min="0" max="3600" step="0.1" '
        f'value="{esc(fade)}" aria-label="fade time in seconds"><span class="unit">s</span>'
        f'<button type="submit">Set</button></form>'
        f'<p class="muted">Looks recalled here fade in <span data-bind="fade_s">{esc(fade)}</span> '
        's.</p></section>'
        f'<section class="panel nudge"><h2>Nudge the live look</h2>'
        f'<form method="post" action="/action/nudge" class="nudges">{_csrf(token)}'
        f'<input type="hidden" name="back" value="/dp">'
        f'<select name="zone" aria-label="zone"><option value="">all zones</option>{zones}</select>'
        f'<div class="grid">{nudges}</div></form>'
        f'<div class="grid undo">{button_form("/action/undo", "Undo", token, back="/dp")}'
        f'{button_form("/action/redo", "Redo", token, back="/dp")}</div></section>'
        '<section class="panel"><h2>Looks</h2><div data-html="looks_html">'
        f'{looks_fragment(state, token)}</div>'
        f'</section>'
        '<section class="panel"><h2>Devices</h2><div data-html="devices_html">'
        f'{devices_fragment(state)}</div>'
        f'</section></main>')
    return document("DP · stagectl", body, page="dp", token=token, stage=str(state.get("stage", "")))


def looks_fragment(state: Mapping[str, Any], token: str = "") -> str:
    """Every look as a recall button, the live one marked."""
    live = state.get("live_look")
    looks: Sequence[str] = state.get("looks", ())
    if not looks:
        return '<p class="muted">No looks in the looks folder.</p>'
    items = "".join(
        f'<li class="{"live" if name == live else ""}">'
        f'{button_form("/action/recall", name, token, fields={"look": name}, back="/dp")}</li>'
        for name in looks)
    return f'<ul class="looks">{items}</ul>'


def _shown(value: object) -> str:
    """A device value as a person reads it: ``on``/``off``, ``882``, ``0.945``."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"
    return "—" if value is None else str(value)


def devices_fragment(state: Mapping[str, Any]) -> str:
    """Each device: its link state and current values."""
    rows = []
    for device in state.get("devices", ()):
        values = " · ".join(f"{esc(k)} {esc(_shown(v))}" for k, v in device.get("values", {}).items())
        rows.append(f'<li class="device state-{esc(device.get("state", ""))}">'
                    f'<b>{esc(device.get("name", ""))}</b> '
                    f'<span class="state">{esc(device.get("state", ""))}</span>'
                    f'<span class="detail">{esc(device.get("detail", ""))}</span>'
                    f'<span class="values">{values}</span></li>')
    return f'<ul class="devices">{"".join(rows)}</ul>' if rows else '<p class="muted">No devices.</p>'


def script_page(state: Mapping[str, Any], token: str, note: tuple[str, bool], takes_html: str) -> str:
    """The script supervisor's phone: slate, RECORD/STOP and timecode, notes, the day's takes."""
    slate = state.get("slate", {})
    fields = "".join(
        f'<label>{esc(label)}<input name="{key}" value="{esc(slate.get(key, ""))}" '
        f'{"inputmode=numeric " if key == "take" else ""}autocomplete="off"></label>'
        for key, label in SLATE_LABELS)
    body = (
        f'<main class="script">{flash(*note)}'
        f'<section class="rec"><p class="recstate">{_flag("recording", state, "REC")}'
        f'{_bound("rec_text", state)}</p>{_bound("timecode_text", state, "p", "timecode")}'
        f'<p class="muted">{_bound("slate_text", state)}</p></section>'
        '<section class="panel"><h2>Note</h2><form method="post" action="/action/note" class="stack" '
        'data-reset>'
        f'{_csrf(token)}<input type="hidden" name="back" value="/script">'
        f'<textarea name="text" rows="2" maxlength="2000" placeholder="Note into the running take" '
        'aria-label="note"></textarea><button type="submit" class="primary">Add note</button></form>'
        '</section>'
        f'<section class="panel"><h2>Slate</h2><form method="post" action="/action/slate" class="slate">'
        f'{_csrf(token)}<input type="hidden" name="back" value="/script">{fields}'
        f'<button type="submit">Set slate</button></form></section>'
        f'<section class="panel"><h2>Today\'s takes</h2><div data-html="takes_html">{takes_html}</div>'
        '</section>'
        f'</main>')
    return document("Script · stagectl", body, page="script", token=token, stage=str(state.get("stage", "")))


def _flag_button(take_id: int, flag: str, on: bool, label: str, label_on: str, cls: str, token: str) -> str:
    """A button that turns a take's flag on (or off again)."""
    return button_form("/action/flag", label_on if on else label, token, cls=cls + (" on" if on else ""),
                       fields={"take_id": take_id, flag: "0" if on else "1"}, back="/script")


def takes_fragment(takes: Iterable[TakeLine], token: str = "", error: str = "") -> str:
    """The day's takes, newest first: slate, duration, lens range, notes, and circle / NG buttons."""
    if error:
        return f'<p class="flash error">{esc(error)}</p>'
    items = []
    for take in list(takes)[::-1][:PAGE_TAKES]:
        lens = ", ".join(f"{c.camera}: {c.focal_text}" for c in take.cameras) or "no camera"
        notes = "".join(f'<li><span class="tc">{esc(n.timecode or "")}</span> {esc(n.text)}</li>'
                        for n in take.notes)
        if take.take_notes:
            notes += f"<li>{esc(take.take_notes)}</li>"
        flags = (_flag_button(take.take_id, "circled", take.circled, "Circle", "Circled", "flag", token)
                 + _flag_button(take.take_id, "no_good", take.no_good, "NG", "NG ✓", "flag ng", token))
        slate = " ".join(p for p in (take.production, take.scene, take.shot) if p)
        items.append(
            f'<li class="take{" circled" if take.circled else ""}{" ng" if take.no_good else ""}" '
            f'data-take="{take.take_id}"><div class="head"><b>{esc(take.name)}</b>'
            f'<span class="muted">{esc(slate)} T{take.take}</span></div>'
            f'<p class="facts">{esc(take.tc_in or "--")} · '
            f'{"recording" if take.state == "recording" else esc(take.duration)} · {esc(lens)}</p>'
            f'{f"<ul class=notes>{notes}</ul>" if notes else ""}<div class="row">{flags}</div></li>')
    return f'<ul class="takes">{"".join(items)}</ul>' if items else '<p class="muted">No takes today yet.</p>'
