"""USD camera export (usd-core): one ``<take>_<camera>.usda`` per camera with samples.

Each file is a stage whose default prim is a ``UsdGeom.Camera`` at ``/<camera>`` (the name made a
valid prim name: ``-`` and other characters become ``_``, a leading digit gets a ``_``).

* Stage: ``upAxis = "Y"``, ``metersPerUnit = 0.01`` (centimetres, so the lens attributes, in
  tenths of a scene unit, are millimetres), ``timeCodesPerSecond`` = ``framesPerSecond`` = the
  take's rate, ``startTimeCode`` / ``endTimeCode`` = the camera's first and last frame.
* Time codes are absolute timecode frame counts at the take's rate (10:00:00:00 at 24 fps is
  864000), so time codes match plates named by timecode. The timecode itself, rate, drop-frame
  flag, take and slate are in the layer's ``customLayerData["stagectl"]``.
* One sample per frame (:meth:`CameraTrack.per_frame`); frames without one (dropouts) or with a
  non-finite pose get no time sample. Where a value holds still, only the first and last frame
  of the run are authored: USD's linear interpolation gives the same value on every frame between.
* Transform: one ``xformOp:transform`` (matrix4d), from the internal pose by
  :func:`stagectl.core.coords.internal_to_usd_camera_matrix`: internal X right, Y forward, Z up ->
  USD X right, -Z, +Y; the camera looks down its local -Z with +Y up, in centimetres.
* Lens: ``focalLength`` (mm), ``focusDistance`` (cm), ``fStop`` (the geometric f-number; on frames
  where it was unknown the T-stop stands in and ``customLayerData`` says on how many),
  ``horizontalAperture`` / ``verticalAperture`` = the camera's one film back (mm; the lens file's,
  else the tracker's static block's, else the stage file's ``sensor_mm``: the same the .chan and CSV
  fields of view use; not authored, and ``customLayerData.stagectl.filmBack.source`` "unknown",
  when none says), ``horizontalApertureOffset`` / ``verticalApertureOffset`` (mm, time-sampled)
  from the lens file's principal point: the film back's centre relative to the lens axis, X right
  and Y up (a principal point left of the image centre is a positive horizontal offset; usd-core's
  ``Gf.Camera`` frustum then puts the lens axis on that pixel), ``clippingRange`` 1 cm to 10 km. A
  value unknown on a frame (NaN, or <= 0 for the focal length, focus and stop) gets no time sample
  there; one never known is not authored. USD's camera attributes are 32-bit floats: a field of
  view worked out from them agrees with the other formats to float precision (~2e-6 degrees);
  ``stagectl:verticalFovDeg`` holds the exact one.
* Custom attributes (namespace ``stagectl:``, documented here and in docs/takes.md), double
  precision, time-sampled like the lens: ``stagectl:lens:k1`` .. ``k3``, ``p1``, ``p2`` (OpenCV's
  Brown-Conrady coefficients, undistorted -> distorted, on coordinates normalised by the focal
  length in pixels; ``stagectl:lens:distortionModel`` says so in words),
  ``stagectl:lens:principalPointPx`` (double2, pixels of ``stagectl:lens:imageSizePx``, int2),
  ``stagectl:verticalFovDeg`` (the vertical field of view from the focal length and the film back,
  in double precision: the value the .chan and CSV files carry; not authored when unknown), and
  ``stagectl:sampleTimestamp:seconds`` / ``:nanoseconds`` (int64: the tracker's PTP time of each
  frame's sample, as sent).
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pxr import Gf, Sdf, Tf, Usd, UsdGeom, Vt

from stagectl.core.coords import internal_to_usd_camera_matrix
from stagectl.core.timecode import Timecode
from stagectl.takes.export.camera_fields import camera_vfov_deg, film_back_metadata, first_static
from stagectl.takes.export.text_columns import Progress, ProgressReport, camera_path, write_atomically
from stagectl.takes.model import CameraTrack, TakeData

METERS_PER_UNIT = 0.01
CLIPPING_RANGE = (1.0, 1_000_000.0)
"""Near and far clipping planes in scene units (centimetres): 1 cm to 10 km."""
DISTORTION_MODEL = ("OpenCV Brown-Conrady k1, k2, k3 (radial), p1, p2 (tangential): undistorted -> "
                    "distorted, on coordinates normalised by the focal length in pixels")


def prim_name(camera: str) -> str:
    """A valid USD prim name for a camera name (``cam-1`` -> ``cam_1``, ``2`` -> ``_2``)."""
    return str(Tf.MakeValidIdentifier("_" + camera if camera[:1].isdigit() else camera))


def lens_units(millimetres: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Millimetres -> USD's tenths of a scene unit (the same numbers at metersPerUnit 0.01)."""
    tenths: npt.NDArray[np.float64] = millimetres / 1000.0 / (METERS_PER_UNIT / 10.0)
    return tenths


def run_edges(values: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """For N values (or N rows), True at the first and last of each run of equal neighbours: the
    samples that reproduce every value under linear interpolation."""
    keep = np.ones(values.shape[0], dtype=np.bool_)
    if values.shape[0] > 2:
        rows = values.reshape(values.shape[0], -1)
        changed = np.any(rows[1:] != rows[:-1], axis=1)
        keep[1:-1] = changed[:-1] | changed[1:]
    return keep


def _author(attribute: Usd.Attribute, times: npt.NDArray[np.float64], values: npt.NDArray[np.float64],
            known: npt.NDArray[np.bool_]) -> int:
    """Time samples of ``values`` where ``known``, run edges only; returns how many were authored."""
    times, values = times[known], values[known]
    keep = run_edges(values)
    pairs = values.ndim > 1
    for time, value in zip(times[keep].tolist(), values[keep].tolist(), strict=True):
        attribute.Set(Gf.Vec2d(*value) if pairs else value, Usd.TimeCode(time))
    return int(keep.sum())


def _metadata(take: TakeData, track: CameraTrack, frames: npt.NDArray[np.int64], t_stop_frames: int
              ) -> dict[str, Any]:
    info = take.info
    rate = info.rate.rate

    def label(frame: int) -> str:
        return str(Timecode.from_frames(frame, info.rate, info.drop_frame))

    data: dict[str, Any] = {
        "take": info.name, "takeId": info.take_id, "camera": track.camera, "trackingSource": track.source,
        "rate": f"{rate.numerator}/{rate.denominator}", "dropFrame": info.drop_frame,
        "timeCodes": "absolute timecode frame count at the take's rate",
        "axes": "Y up, X right; internal Y forward is -Z; the camera looks down its local -Z",
        "slate": {"production": info.slate.production, "scene": info.slate.scene, "shot": info.slate.shot,
                  "take": info.slate.take, "notes": info.slate.notes},
        "fStop": "f-stop (geometric)" if not t_stop_frames else
                 f"f-stop (geometric); T-stop on {t_stop_frames} frame(s) where the f-stop was unknown",
    }
    if frames.size:
        data["timecodeStart"], data["timecodeEnd"] = label(int(frames[0])), label(int(frames[-1]))
    if info.tc_in is not None and info.tc_out is not None:
        data["takeTimecodeIn"], data["takeTimecodeOut"] = str(info.tc_in), str(info.tc_out)
    if track.lens is not None:
        lens = track.lens
        data["lens"] = {"file": lens.lens_file, "make": lens.make, "model": lens.model, "serial": lens.serial,
                        "sensorWidthMm": lens.sensor_width_mm, "sensorHeightMm": lens.sensor_height_mm}
    data["filmBack"] = film_back_metadata(track)
    static = first_static(track)
    if static is not None:
        data["trackerStatic"] = usd_value(static)
    if frames.size:
        first = int(np.argmax(track.frame == frames[0]))
        sent = track.label(first, info.rate, info.drop_frame)
        data["sourceTimecodeStart"] = str(sent)
        data["sourceTimecodeRate"] = f"{sent.rate.rate.numerator}/{sent.rate.rate.denominator}"
        data["sourceTimecodeFrom"] = "tracker" if bool(track.tracker_timecode[first]) else "stage clock"
    return {"stagectl": data}


def usd_value(value: Any) -> Any:
    """A JSON value as layer metadata USD can write and read back: lists become typed arrays (strings,
    integers, doubles), a list of anything else its JSON text (a plain list would not read back)."""
    if isinstance(value, dict):
        return {str(k): usd_value(v) for k, v in value.items()}
    if isinstance(value, list):
        if all(isinstance(v, str) for v in value):
            return Vt.StringArray(value)
        if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return Vt.Int64Array(value)
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
            return Vt.DoubleArray(value)
        return json.dumps(value)
    return value


def _double_samples(prim: Usd.Prim, name: str, value_type: Sdf.ValueTypeName, times: npt.NDArray[np.float64],
                    values: npt.NDArray[Any], known: npt.NDArray[np.bool_]) -> None:
    """A ``stagectl:`` attribute time-sampled where ``known`` (run edges only); none when never known."""
    if known.any():
        _author(prim.CreateAttribute(name, value_type, custom=True), times, values, known)


def _lens_extras(camera: UsdGeom.Camera, track: CameraTrack, index: npt.NDArray[np.int64],
                 times: npt.NDArray[np.float64]) -> None:
    """Aperture offsets from the principal point, distortion, the exact FOV and the PTP time, per frame."""
    prim = camera.GetPrim()
    fov = camera_vfov_deg(track)[index]
    _double_samples(prim, "stagectl:verticalFovDeg", Sdf.ValueTypeNames.Double, times, fov, np.isfinite(fov))
    centre = track.principal_point_px[index]
    known: npt.NDArray[np.bool_] = np.asarray(np.isfinite(centre).all(axis=1), dtype=np.bool_)
    if track.lens is not None and known.any():
        size_px = np.array([track.lens.image_width_px, track.lens.image_height_px], dtype=np.float64)
        size_mm = np.array([track.lens.sensor_width_mm, track.lens.sensor_height_mm])
        shift = (centre - size_px / 2.0) * (size_mm / size_px)  # mm, x right and y down
        _author(camera.CreateHorizontalApertureOffsetAttr(), times, lens_units(-shift[:, 0]), known)
        _author(camera.CreateVerticalApertureOffsetAttr(), times, lens_units(shift[:, 1]), known)
        _double_samples(prim, "stagectl:lens:principalPointPx", Sdf.ValueTypeNames.Double2, times, centre,
                        known)
        prim.CreateAttribute("stagectl:lens:imageSizePx", Sdf.ValueTypeNames.Int2, custom=True).Set(
            Gf.Vec2i(track.lens.image_width_px, track.lens.image_height_px))
    distortion = track.distortion[index]
    if np.isfinite(distortion).any():
        prim.CreateAttribute("stagectl:lens:distortionModel", Sdf.ValueTypeNames.String, custom=True).Set(
            DISTORTION_MODEL)
        for i, name in enumerate(("k1", "k2", "k3", "p1", "p2")):
            column = distortion[:, i]
            _double_samples(prim, f"stagectl:lens:{name}", Sdf.ValueTypeNames.Double, times, column,
                            np.isfinite(column))
    if track.sample_timestamp is not None:
        stamp = track.sample_timestamp[index]
        sent = stamp[:, 0] >= 0
        for i, name in enumerate(("seconds", "nanoseconds")):
            _double_samples(prim, f"stagectl:sampleTimestamp:{name}", Sdf.ValueTypeNames.Int64, times,
                            stamp[:, i], sent)


def camera_stage(take: TakeData, track: CameraTrack) -> Usd.Stage:
    """An in-memory stage holding ``track`` as a camera (see the module docstring). Keep the stage
    referenced while using its root layer: the anonymous layer goes with it."""
    index = track.per_frame()
    pose = np.concatenate([track.translation_m[index], track.rotation_deg[index]], axis=1)
    index = index[np.isfinite(pose).all(axis=1)]
    frames = track.frame[index]
    times = frames.astype(np.float64)
    fps = float(Fraction(take.info.rate.rate))

    stage = Usd.Stage.CreateInMemory()
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
    UsdGeom.SetStageMetersPerUnit(stage, METERS_PER_UNIT)
    stage.SetTimeCodesPerSecond(fps)
    stage.SetFramesPerSecond(fps)
    if frames.size:
        stage.SetStartTimeCode(float(frames[0]))
        stage.SetEndTimeCode(float(frames[-1]))
    camera = UsdGeom.Camera.Define(stage, Sdf.Path.absoluteRootPath.AppendChild(prim_name(track.camera)))
    stage.SetDefaultPrim(camera.GetPrim())

    f_stop, t_stop = track.f_stop[index], track.t_stop[index]
    stand_in = ~(np.isfinite(f_stop) & (f_stop > 0)) & np.isfinite(t_stop) & (t_stop > 0)
    stop = np.where(stand_in, t_stop, f_stop)
    with Sdf.ChangeBlock():
        transform = camera.AddTransformOp().GetAttr()
        matrices = internal_to_usd_camera_matrix(track.translation_m[index], track.rotation_deg[index],
                                                 METERS_PER_UNIT)
        keep = run_edges(matrices)
        for time, matrix in zip(times[keep].tolist(), matrices[keep].reshape(-1, 16).tolist(), strict=True):
            transform.Set(Gf.Matrix4d(*matrix), Usd.TimeCode(time))
        focal = lens_units(track.focal_length_mm[index])
        focus = track.focus_distance_m[index] / METERS_PER_UNIT
        lens = ((camera.CreateFocalLengthAttr(), focal), (camera.CreateFocusDistanceAttr(), focus),
                (camera.CreateFStopAttr(), stop))
        for attribute, values in lens:
            known = np.isfinite(values) & (values > 0)
            if not _author(attribute, times, values, known):
                attribute.Clear()
        if track.film_back is not None:
            width, height = lens_units(np.array([track.film_back.width_mm, track.film_back.height_mm]))
            camera.CreateHorizontalApertureAttr(float(width))
            camera.CreateVerticalApertureAttr(float(height))
        _lens_extras(camera, track, index, times)
        camera.CreateProjectionAttr(UsdGeom.Tokens.perspective)
        camera.CreateClippingRangeAttr(Gf.Vec2f(*CLIPPING_RANGE))
    layer = stage.GetRootLayer()
    layer.customLayerData = _metadata(take, track, frames, int((stand_in & np.isfinite(stop)).sum()))
    layer.documentation = f"stagectl take {take.info.name}, camera {track.camera}"
    return stage


def export_usd(take: TakeData, out_dir: Path, *, progress: Progress | None = None) -> list[Path]:
    """Write ``<take>_<camera>.usda`` for each camera with samples (see the module docstring)."""
    tracks = [t for t in take.cameras.values() if len(t)]
    report = ProgressReport(progress, 2 * len(tracks))
    written: list[Path] = []
    for track in tracks:
        stage = camera_stage(take, track)
        report.add(1)
        text = stage.GetRootLayer().ExportToString()
        written.append(write_atomically(camera_path(take, track.camera, out_dir, "usda"), [text.encode()]))
        report.add(1)
    report.finish()
    return written
