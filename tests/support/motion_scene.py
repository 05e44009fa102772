"""Video of a tracked camera for delay tests: a textured scene seen through a pinhole camera that turns.

The scene is a sphere around the camera with a seeded random texture on it (an equirectangular image of
blurred noise at several scales). Each picture frame is rendered by casting a ray through every pixel,
turning it by the camera's rotation (``R = Rz(pan) Rx(tilt) Ry(roll)``, stagectl's internal axes, written
out here on their own), and looking the ray's direction up in the texture (``cv2.remap``). Frame ``i``
(time ``i / fps``) shows the camera as it was at ``i / fps - delay``, averaged over the open shutter
(motion blur); grain is added, and an "actor" (a patch of its own texture) wanders across the frame on
its own path. Frames are encoded with PyAV into a real file (H.264 in MOV/MP4, optional start timecode),
which the code under test reads back through ``cv2.VideoCapture``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["Pose", "moving", "render_clip", "still", "tracking_samples"]

Pose = Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]]
"""``pose(t)`` -> (n, 3) pan, tilt, roll in degrees at times ``t`` (seconds)."""

TEXTURE_W, TEXTURE_H = 2048, 1024


def moving(t: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """An operator panning and tilting: several sines, up to ~60 deg/s, no period within the search."""
    tau = 2.0 * math.pi
    pan = 12 * np.sin(tau * 0.23 * t) + 6 * np.sin(tau * 0.71 * t + 1.0) + 3 * np.sin(tau * 1.3 * t + 2.0)
    tilt = 5 * np.sin(tau * 0.37 * t + 0.5) + 2 * np.sin(tau * 1.1 * t + 0.3) - 4.0
    roll = 0.5 * np.sin(tau * 0.19 * t)
    return np.stack([pan + 30.0, tilt, roll], axis=1)


def still(t: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """A camera on sticks that does not move."""
    return np.tile([30.0, -4.0, 0.0], (np.size(t), 1)).astype(np.float64)


def _texture(seed: int) -> npt.NDArray[np.float32]:
    rng = np.random.default_rng(seed)
    out = np.zeros((TEXTURE_H, TEXTURE_W), np.float32)
    for cells, weight in ((16, 0.3), (64, 0.3), (256, 0.25), (1024, 0.15)):
        noise = rng.random((max(2, cells // 2), cells)).astype(np.float32)
        out += weight * cv2.resize(noise, (TEXTURE_W, TEXTURE_H), interpolation=cv2.INTER_CUBIC)
    scaled: npt.NDArray[np.float32] = np.clip(40 + 180 * (out - out.min()) / (np.ptp(out) + 1e-9), 0, 255
                                              ).astype(np.float32)
    return scaled


def _rotation(pan: float, tilt: float, roll: float) -> npt.NDArray[np.float64]:
    a, b, g = math.radians(pan), math.radians(tilt), math.radians(roll)
    rz = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    ry = np.array([[math.cos(g), 0, math.sin(g)], [0, 1, 0], [-math.sin(g), 0, math.cos(g)]])
    rotation: npt.NDArray[np.float64] = rz @ rx @ ry
    return rotation


class _Camera:
    def __init__(self, width: int, height: int, hfov_deg: float) -> None:
        self.focal_px = width / 2 / math.tan(math.radians(hfov_deg) / 2)
        u, v = np.meshgrid(np.arange(width) + 0.5 - width / 2, np.arange(height) + 0.5 - height / 2)
        # camera axes: x right, y forward, z up; image v grows downwards
        self.rays = np.stack([u / self.focal_px, np.ones_like(u), -v / self.focal_px], axis=-1)

    def render(self, texture: npt.NDArray[np.float32], pose: npt.NDArray[np.float64]
               ) -> npt.NDArray[np.float32]:
        world = self.rays @ _rotation(*pose).T
        azimuth = np.arctan2(-world[..., 0], world[..., 1])  # left of +Y is positive, as pan
        elevation = np.arctan2(world[..., 2], np.hypot(world[..., 0], world[..., 1]))
        mx = ((0.5 - azimuth / (2 * math.pi)) * TEXTURE_W).astype(np.float32)
        my = ((0.5 - elevation / math.pi) * TEXTURE_H).astype(np.float32)
        return np.asarray(cv2.remap(texture, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP),
                          dtype=np.float32)


def render_clip(path: Path, fps: Fraction, seconds: float, delay_s: float, *, pose: Pose = moving,
                size: tuple[int, int] = (320, 180), hfov_deg: float = 60.0, noise: float = 3.0,
                shutter: float = 0.5, blur_steps: int = 4, actor: bool = True, timecode: str | None = None,
                seed: int = 7, zoom_to_hfov_deg: float | None = None, flat: bool = False) -> float:
    """Write the clip (see the module docstring); returns the focal length in pixels.

    ``shutter`` is the open fraction of a frame (0.5: 180 degrees); ``blur_steps`` renders averaged over it.
    ``zoom_to_hfov_deg``: the lens zooms evenly from ``hfov_deg`` to this over the clip; ``flat``: a blank,
    evenly lit scene (grain only).
    """
    width, height = size
    camera = _Camera(width, height, hfov_deg)
    scene, patch = _texture(seed), _texture(seed + 1)[:height, :width]
    if flat:
        scene = np.full_like(scene, 128.0)
    rng = np.random.default_rng(seed + 2)
    frame_s = 1.0 / float(fps)
    frames = round(seconds * float(fps))
    aw, ah = width // 4, height // 2
    options = {"movflags": "use_metadata_tags"} if path.suffix.lower() in (".mov", ".mp4") else {}
    with av.open(str(path), "w", options=options) as out:
        stream = out.add_stream("libx264", rate=fps, options={"crf": "16", "preset": "veryfast"})
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if timecode is not None:
            stream.metadata["timecode"] = timecode
        for i in range(frames):
            centre = i * frame_s - delay_s
            offsets = (np.arange(blur_steps) + 0.5) / blur_steps - 0.5 if blur_steps > 1 else np.zeros(1)
            poses = pose(centre + offsets * shutter * frame_s)
            if zoom_to_hfov_deg is not None:
                hfov = hfov_deg + (zoom_to_hfov_deg - hfov_deg) * i / max(1, frames - 1)
                camera = _Camera(width, height, hfov)
            picture = np.mean([camera.render(scene, p) for p in poses], axis=0)
            if actor and not flat:  # an actor walking about on their own, covering ~1/8 of the frame
                t = i * frame_s
                x = int((width - aw) * (0.5 + 0.5 * math.sin(2 * math.pi * 0.4 * t)))
                y = int((height - ah) * (0.5 + 0.4 * math.sin(2 * math.pi * 0.27 * t + 1.0)))
                picture[y:y + ah, x:x + aw] = np.roll(patch, (i * 3, i * 5), axis=(0, 1))[:ah, :aw]
            picture = np.clip(picture + rng.normal(0.0, noise, picture.shape), 0, 255).astype(np.uint8)
            rgb = np.asarray(cv2.cvtColor(picture, cv2.COLOR_GRAY2RGB), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame.reformat(format="yuv420p")))
        out.mux(stream.encode(None))
    return camera.focal_px


def tracking_samples(seconds: float, rate_hz: float = 100.0, *, pose: Pose = moving, start_s: float = -1.0,
                     jitter_s: float = 0.0005, seed: int = 3) -> tuple[npt.NDArray[np.float64],
                                                                       npt.NDArray[np.float64]]:
    """A tracker's samples of ``pose``: (times, (n, 3) rotations) from ``start_s`` for ``seconds``, each
    sample stamped with its true time plus arrival jitter (the pose is the one at the true time)."""
    rng = np.random.default_rng(seed)
    true = start_s + np.arange(round(seconds * rate_hz)) / rate_hz + rng.uniform(0, 1 / rate_hz)
    stamped = true + np.abs(rng.normal(0.0, jitter_s, true.size))
    return stamped, pose(true)
