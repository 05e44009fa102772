"""The ``--status-json`` object: a stage snapshot as JSON-ready values (a public contract).

Keys are added, never removed. Positions in metres and rotations in degrees, internal axes and
signs (OpenTrackIO's); figures not measured yet are null.
"""

from __future__ import annotations

import math
from typing import Any

from stagectl.control.status import ControlStatus
from stagectl.core.samples import CameraSample
from stagectl.stage.lighting import LightingStatus
from stagectl.stage.snapshot import StageSnapshot
from stagectl.web.server import WebStatus


def _rounded(values: tuple[float, float, float], digits: int) -> list[float]:
    return [round(v, digits) for v in values]


def _lens_field(sample: CameraSample | None, name: str) -> float | None:
    """One lens value of the sample for JSON (None when there is no such value); inf -> None."""
    if sample is None or sample.lens is None:
        return None
    value = getattr(sample.lens, name)
    return value if value is None or math.isfinite(value) else None


def _ms(value: float) -> float | None:
    """A figure for JSON: rounded to microseconds, None when not measured (NaN)."""
    return round(value, 3) if math.isfinite(value) else None


def lighting_dict(status: LightingStatus) -> dict[str, Any]:
    """The ``devices`` and ``cues`` parts of ``--status-json``: device links and values, the cue engine."""
    devices = {
        d.name: {"kind": d.kind, "zone": d.zone, "target": d.target, "state": d.state.value,
                 "detail": d.detail, "error": d.last_error, "writes": d.writes, "errors": d.errors,
                 "rtt_ms": None if d.rtt_ms is None else round(d.rtt_ms, 2), "values": dict(d.values)}
        for d in status.devices
    }
    engine = status.engine
    cues: dict[str, Any] = {"looks_dir": status.looks_dir, "looks": [look.name for look in status.looks],
                            "look_errors": list(status.look_errors)}
    if engine is not None:
        cues.update({"live_look": engine.live_look, "live_cue": engine.live_cue, "next_cue": engine.next_cue,
                     "cue_playing": engine.cue_playing, "held": engine.held, "blackout": engine.blackout,
                     "fading": [{"label": f.label, "progress": round(f.progress, 3),
                                 "remaining_s": round(f.remaining_s, 3)} for f in engine.fades],
                     "errors": engine.errors})
    return {"devices": devices, "cues": cues}


def control_dict(status: ControlStatus | None) -> dict[str, Any]:
    """The ``control`` part of ``--status-json``: the OSC control-in server, None without ``[control]``.

    ``received`` counts datagrams, ``accepted`` messages carried out, ``rejected`` by reason (datagrams
    or messages, see ``stagectl.control.status.REJECT_REASONS``); ``auth`` is the passcode gate:
    ``attempts``, ``compared``, ``accepted``, ``wrong``, ``locked_out`` (refused uncompared: the address
    waits out its lockout), ``budget_exhausted`` (refused uncompared: the stage-wide budget of wrong
    passcodes is spent) and ``budget_tries`` (tries that budget holds now)."""
    if status is None:
        return {"control": None}
    return {"control": {
        "listen": status.listen, "running": status.running, "allow": status.allow,
        "passcode_required": status.passcode_required, "reply_port": status.reply_port,
        "received": status.received, "accepted": status.handled, "rejected": sum(status.rejected.values()),
        "rejected_by_reason": dict(status.rejected), "locked_out": status.auth.get("locked_out", 0),
        "auth_budget_exhausted": status.auth.get("budget_exhausted", 0), "auth": dict(status.auth),
        "sessions": status.sessions, "queued": status.queued, "turns_cut": status.turns_cut,
        "releases_ignored": status.releases_ignored, "replies_sent": status.replies_sent,
        "replies_dropped": status.replies_dropped, "log_suppressed": status.log_suppressed,
        "last_command": status.last_command, "last_error": status.last_error}}


def web_dict(status: WebStatus | None) -> dict[str, Any]:
    """The ``web`` part of ``--status-json``: the floor's remote, None without ``[web]``.

    ``url`` is the first address to open (``urls`` every one), ``clients`` the pages connected live
    (WebSockets), ``sessions`` the browsers logged in, ``logins`` right passcodes, ``failed_logins`` wrong
    ones, ``lockouts`` attempts refused uncompared (a device waiting out its lockout, or the stage-wide
    budget spent), ``refused`` requests without a session, with a wrong CSRF token or a foreign origin,
    ``errors`` actions the stage refused; ``error`` why the server is not running (a port taken)."""
    if status is None:
        return {"web": None}
    return {"web": {
        "listen": status.listen, "url": status.urls[0] if status.urls else None, "urls": list(status.urls),
        "running": status.running, "https": status.https, "clients": status.clients,
        "sessions": status.sessions, "logins": status.logins, "failed_logins": status.failed_logins,
        "lockouts": status.lockouts, "requests": status.requests, "refused": status.refused,
        "errors": status.errors, "pushes": status.pushes, "error": status.error}}


def status_dict(snap: StageSnapshot) -> dict[str, Any]:
    """Render a snapshot as the ``--status-json`` object. Positions in metres, internal axes."""
    cameras: dict[str, Any] = {}
    for cam in snap.cameras:
        s = cam.latest
        cameras[cam.name] = {
            "state": cam.state,
            "rate_hz": round(cam.rate_hz, 2),
            "samples": cam.samples,
            "rejected": cam.rejected,
            "position_m": _rounded(s.translation_m, 5) if s else None,
            "rotation_deg": _rounded(s.rotation_deg, 5) if s else None,
            "zoom_raw": s.zoom_raw if s else None,
            "focus_raw": s.focus_raw if s else None,
            "focal_length_mm": s.lens.focal_length_mm if s and s.lens else None,
            "delay_ms": cam.delay_ms,
            "timecode": str(s.timecode) if s and s.timecode else None,
            "timecode_source": s.timecode_source if s else None,
            "delay_frames": round(cam.delay_frames, 3),
            "smoothing": cam.smoothing,
            "smoothing_latency_ms": _ms(cam.smoothing_latency_ms),
            "jitter_ms_p50": _ms(cam.jitter_ms_p50),
            "jitter_ms_p99": _ms(cam.jitter_ms_p99),
            "lost": cam.lost,
            "reordered": cam.reordered,
            "lens": cam.lens_status,
            "focus_distance_m": _lens_field(s, "focus_distance_m"),
            "t_stop": _lens_field(s, "t_stop"),
            "f_stop": _lens_field(s, "f_stop"),
            "entrance_pupil_offset_m": _lens_field(s, "entrance_pupil_offset_m"),
            "k1": s.lens.brown_conrady[0] if s and s.lens and s.lens.brown_conrady else None,
            "lens_clamped": list(s.lens.clamped) if s and s.lens else [],
            "iris_raw": s.iris_raw if s else None,
            "sensor_mm": None if cam.film_back is None else [cam.film_back.width_mm, cam.film_back.height_mm],
            "sensor_source": "unknown" if cam.film_back is None else cam.film_back.source,
        }
    sources = {
        src.name: {
            "camera": src.camera, "protocol": src.protocol, "listen": src.listen, "state": src.state,
            "rate_hz": round(src.rate_hz, 2), "received": src.received, "accepted": src.accepted,
            "rejected": src.rejected, "rejected_by_reason": src.rejected_by_reason, "error": src.error,
            "detail": src.detail, "interval_ms_p50": _ms(src.interval_ms_p50),
            "jitter_ms_p50": _ms(src.jitter_ms_p50), "jitter_ms_p99": _ms(src.jitter_ms_p99),
            "lost": src.lost if src.has_sequence else None,
            "reordered": src.reordered if src.has_sequence else None,
            "duplicates": src.duplicates if src.has_sequence else None,
            "preset": src.preset, "allow": list(src.allow), "description": src.description,
            "warned": src.warned, "warnings_by_reason": src.warnings_by_reason,
        }
        for src in snap.sources
    }
    outputs = {
        out.name: {"kind": out.kind, "target": out.target, "sent": out.sent, "dropped": out.dropped,
                   "dropped_by_reason": out.dropped_by_reason, "state": out.state, "detail": out.detail,
                   "error": out.last_error}
        for out in snap.outputs
    }
    return {"timecode": snap.timecode, "stage": snap.name, "frame_rate": snap.frame_rate,
            "cameras": cameras, "sources": sources, "outputs": outputs}
