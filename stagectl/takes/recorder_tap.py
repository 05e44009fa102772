"""The recorder's hot path (mixed into :class:`stagectl.takes.recorder.Recorder`): each camera's
samples, and its tracker's static block when it changes, into the take's journal.

Runs on the I/O loop, once per sample: a record packed and put on the journal writer's queue, no I/O,
no lock held.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stagectl.core.camera import RecordedCamera
from stagectl.core.clock import StageClock
from stagectl.core.opentrackio.merge import jsonable
from stagectl.core.samples import CameraSample
from stagectl.core.timecode import FrameRate, Timecode
from stagectl.takes.capture import RawCapture
from stagectl.takes.journal import SAMPLE, STATIC, JournalWriter
from stagectl.takes.records import dumps, pack_sample


class SampleTap:
    """Taps on the cameras' pipelines that write every sample of a take in progress."""

    _writer: JournalWriter | None
    _index: dict[str, int]
    cameras: dict[str, RecordedCamera]
    capture: RawCapture
    clock: StageClock
    _static_versions: dict[int, int]
    _counts: dict[str, int]
    _rebased: tuple[Timecode, int] | None
    _rate: FrameRate
    _drop: bool

    # --- hot path ----------------------------------------------------------------------------------

    def _tap_for(self, camera: str) -> Callable[[CameraSample], None]:
        idx = self._index[camera]
        pipeline = self.cameras[camera]

        capture = self.capture

        def tap(sample: CameraSample) -> None:
            writer = self._writer
            if writer is None:
                return
            version = pipeline.tracker_static_version
            if version != self._static_versions[idx]:  # the tracker's block changed: into the take
                self._static_versions[idx] = version
                self._static(writer, idx, sample.arrival_ns, pipeline.tracker_static)
            if sample.timecode is None:
                sample = sample._replace(timecode=self.clock.timecode_at(sample.arrival_ns))
            source_index, raw_index = capture.link(sample.source)
            writer.put(SAMPLE, pack_sample(sample, idx, self._frame(sample), source_index, raw_index))
            self._counts[camera] += 1

        return tap

    def _frame(self, sample: CameraSample) -> int:
        """The sample's timecode counted at the take's rate and drop-frame mode: by its clock face
        (``Timecode.rebase``), never through seconds; the last conversion is kept (a tracker sends
        several samples per frame)."""
        tc = sample.timecode
        assert tc is not None  # the tap gives every sample one
        if tc.rate == self._rate and tc.drop_frame == self._drop:
            return tc.frames
        cached = self._rebased
        if cached is not None and cached[0] == tc:
            return cached[1]
        frame = tc.rebase(self._rate, self._drop).frames
        self._rebased = (tc, frame)
        return frame

    def _static(self, writer: JournalWriter, camera_idx: int, arrival_ns: int, static: Any) -> None:
        """A tracker's ``static`` block into the take (the film back and identity post needs): the one at
        RECORD, then each change (every repeat is in the raw capture, as sent)."""
        record = {"camera": camera_idx, "ns": arrival_ns, "static": static}
        try:
            payload = dumps(record)
        except (TypeError, ValueError):  # NaN or bytes (CBOR): as JSON, what changed noted; raw keeps it
            changed: dict[str, Any] = {}
            payload = dumps({**record, "static": jsonable(static, "", changed), "changed": changed})
        writer.put(STATIC, payload)
