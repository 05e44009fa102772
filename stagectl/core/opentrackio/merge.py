"""Laying stagectl's values over an OpenTrackIO sample as the tracker sent it, visibly.

stagectl's rule for what it passes on (the live output to Unreal, the take's JSON lines export):
whatever it does not change goes out exactly as it came in, every field, ``custom`` and unknown
keys included; whatever it changes (a lens solved from a lens file, the film back, its own sample
identity, a smoothed pose) it puts in the field's usual place, where consumers look, and keeps the
tracker's value in ``custom.stagectl.changed`` under the field's JSON path::

    "custom": {"pot1": 2435, "stagectl": {"changed": {"lens.pinholeFocalLength": 24.305,
                                                      "sampleId": "urn:uuid:a403..."}}}

A pose stagectl changed is not written over the tracker's transform chain: a transform of its own
is appended (:func:`append_correction`), so the chain still composes to what stagectl sends and the
tracker's entries are untouched. Nothing here mutates the maps it is given.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from stagectl.core.coords import angles_from_matrix, camera_to_stage_matrix

#: A value of ``ours`` meaning "stagectl knows this field has no value": the tracker's is removed
#: (kept in ``changed``). E.g. a lens file solving focus at infinity, which OpenTrackIO cannot carry.
REMOVED: Any = object()
#: The key under ``custom`` that holds stagectl's notes.
STAGECTL_KEY = "stagectl"
#: The id of the transform stagectl appends when it changed the pose.
CORRECTION_ID = "stagectl"


def overlay(base: Mapping[str, Any], ours: Mapping[str, Any], where: str, changed: dict[str, Any], *,
            fill_only: bool = False) -> dict[str, Any]:
    """``base`` with ``ours`` laid over it key by key (maps recursively), as a new map.

    A key ``base`` lacks is added; one it has with an equal value keeps ``base``'s (so 10 stays 10,
    not 10.0); a different value replaces it and ``base``'s goes to ``changed[<path>]`` (with
    ``fill_only`` it is left alone); :data:`REMOVED` deletes it (kept in ``changed``).
    """
    out = dict(base)
    for key, value in ours.items():
        path = f"{where}.{key}" if where else key
        if key not in base:
            if value is not REMOVED:
                out[key] = value
            continue
        theirs = base[key]
        if value is REMOVED:
            if not fill_only:
                changed[path] = theirs
                del out[key]
        elif isinstance(value, Mapping) and isinstance(theirs, Mapping):
            out[key] = overlay(theirs, value, path, changed, fill_only=fill_only)
        elif not fill_only and theirs != value:
            changed[path] = theirs
            out[key] = value
    return out


def with_notes(sample: dict[str, Any], changed: Mapping[str, Any], notes: Mapping[str, Any] | None = None
               ) -> dict[str, Any]:
    """``sample`` with ``custom.stagectl`` = ``notes`` plus ``changed`` (when any); the tracker's
    ``custom`` keys stay. A ``custom.stagectl`` already there (an upstream stagectl) is kept under
    ``upstream``."""
    if not changed and not notes:
        return sample
    mine: dict[str, Any] = dict(notes or {})
    if changed:
        mine["changed"] = dict(changed)
    custom = sample.get("custom")
    custom = dict(custom) if isinstance(custom, Mapping) else {}
    if STAGECTL_KEY in custom:
        mine["upstream"] = custom[STAGECTL_KEY]
    custom[STAGECTL_KEY] = mine
    sample["custom"] = custom
    return sample


def _vector(entry: Mapping[str, Any], key: str, names: tuple[str, str, str], default: float) -> np.ndarray:
    value = entry.get(key)
    if not isinstance(value, Mapping):
        return np.full(3, default)
    return np.array([float(value.get(n, default)) for n in names])


def append_correction(transforms: Sequence[Mapping[str, Any]], translation_m: Sequence[float],
                      rotation_deg: Sequence[float]) -> list[Any]:
    """The tracker's chain with one transform appended so that it composes to the given camera pose.

    Entry i maps its child into its own frame, ``p = t_i + R_i S_i p_child``
    (stagectl.core.opentrackio.sample.compose_transforms); the appended entry (no scale, id
    :data:`CORRECTION_ID`) is solved from the chain's position P, linear part L and rotation R:
    translation ``L^-1 (target - P)``, rotation ``R^T R_target``. A chain whose scales collapse a
    dimension (no inverse) is replaced by the one entry (the caller records the tracker's).
    """
    position, linear, rotation = np.zeros(3), np.eye(3), np.eye(3)
    for entry in transforms:
        turn = camera_to_stage_matrix(*_vector(entry, "rotation", ("pan", "tilt", "roll"), 0.0))
        position = position + linear @ _vector(entry, "translation", ("x", "y", "z"), 0.0)
        linear = linear @ turn @ np.diag(_vector(entry, "scale", ("x", "y", "z"), 1.0))
        rotation = rotation @ turn
    target = camera_to_stage_matrix(*rotation_deg)
    try:
        local = np.linalg.solve(linear, np.asarray(translation_m, dtype=np.float64) - position)
    except np.linalg.LinAlgError:
        local, rotation, transforms = np.asarray(translation_m, dtype=np.float64), np.eye(3), ()
    pan, tilt, roll = angles_from_matrix(rotation.T @ target)
    x, y, z = (float(v) for v in local)
    correction = {"translation": {"x": x, "y": y, "z": z},
                  "rotation": {"pan": pan, "tilt": tilt, "roll": roll}, "id": CORRECTION_ID}
    return [*transforms, correction]


def camera_static(base: Mapping[str, Any], changed: dict[str, Any], *, label: str | None = None,
                  sensor_mm: tuple[float, float] | None = None, lens_static: Mapping[str, Any] | None = None,
                  tracker_make: str | None = None) -> dict[str, Any]:
    """The static block stagectl sends for a camera, over ``base`` (the tracker's block, or {}).

    The lens file's part (``lens_static``: lens identity, its sensor) and the camera's film back
    (``sensor_mm``) replace what the tracker said, which goes to ``changed``: they are what stagectl
    solved with, and every output and export must name one sensor. The camera's ``label`` and the
    ``tracker_make`` (a FreeD preset's vendor) only fill in what the tracker left out.
    """
    ours: dict[str, Any] = {key: dict(value) if isinstance(value, Mapping) else value
                            for key, value in (lens_static or {}).items()}
    if sensor_mm is not None:
        camera = ours.setdefault("camera", {})
        camera["activeSensorPhysicalDimensions"] = {"width": sensor_mm[0], "height": sensor_mm[1]}
    static = overlay(base, ours, "static", changed)
    fill: dict[str, Any] = {}
    if label:
        fill["camera"] = {"label": label}
    if tracker_make:
        fill["tracker"] = {"make": tracker_make}
    return overlay(static, fill, "static", changed, fill_only=True)


def jsonable(value: Any, where: str, changed: dict[str, Any]) -> Any:
    """``value`` with what JSON cannot hold made JSON (CBOR may carry NaN or byte strings in ``custom``):
    non-finite numbers become null, bytes their hex; the original's text goes to ``changed``."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, f"{where}.{k}" if where else str(k), changed) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v, f"{where}[{i}]", changed) for i, v in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        changed[where] = repr(value)
        return None
    if isinstance(value, bytes | bytearray):
        changed[where] = f"bytes of {len(value)}"
        return bytes(value).hex()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    changed[where] = repr(value)
    return str(value)


def encode_json(sample: Mapping[str, Any], changed: Mapping[str, Any], notes: Mapping[str, Any] | None = None
                ) -> bytes:
    """``sample`` with its notes (:func:`with_notes`) as compact JSON. What JSON cannot hold (CBOR may
    carry NaN or byte strings in ``custom``) is made JSON first (:func:`jsonable`), each such place
    noted in ``changed``: a tracker's odd value costs that value, never the sample."""
    try:
        return _json(with_notes(dict(sample), changed, notes))
    except (TypeError, ValueError):
        more = dict(changed)
        safe = jsonable(sample, "", more)
        return _json(with_notes(safe, more, notes))


def _json(obj: Mapping[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
