"""The recorder's slate keeping and take log (mixed into :class:`stagectl.takes.recorder.Recorder`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from stagectl.core.camera import RecordedCamera
from stagectl.core.clock import StageClock
from stagectl.core.colour import Cdl
from stagectl.core.errors import StageError
from stagectl.core.events import StageEvent
from stagectl.takes.journal import LOG, JournalWriter
from stagectl.takes.model import Slate
from stagectl.takes.records import dumps

log = logging.getLogger("stagectl.takes")
SOURCE = "takes"
SLATE_FIELDS = ("production", "scene", "shot", "take", "notes", "cameras")
_EVENT_KINDS = {"cue": "cue", "state": "device", "lens": "device"}


class RecorderError(StageError):
    """A take could not be started or stopped (already recording, a bad slate, no disk)."""


class SlateKeeping:
    """The slate: its fields, and take numbers counting up per (production, scene, shot)."""

    slate: Slate
    cameras: dict[str, RecordedCamera]
    _numbers: dict[tuple[str, str, str], int]

    # --- slate ------------------------------------------------------------------------------------

    def set_slate(self, **fields: Any) -> Slate:
        """Change the slate (production, scene, shot, take, notes, cameras). A new production, scene
        or shot without a take number goes to that shot's next take. RecorderError for unknown
        fields or a bad take number."""
        unknown = sorted(set(fields) - set(SLATE_FIELDS))
        if unknown:
            raise RecorderError(
                f"unknown slate field(s) {', '.join(unknown)}; known: {', '.join(SLATE_FIELDS)}"
            )
        changes: dict[str, Any] = {}
        for key in ("production", "scene", "shot", "notes"):
            if key in fields:
                changes[key] = str(fields[key]).strip()
        if "cameras" in fields:
            cams = fields["cameras"]
            cams = [c for c in (cams.replace(",", " ").split() if isinstance(cams, str) else cams)]
            missing = [c for c in cams if c not in self.cameras]
            if missing:
                raise RecorderError(
                    f"slate camera(s) {', '.join(missing)} not on this stage "
                    f"(cameras: {', '.join(self.cameras)})"
                )
            changes["cameras"] = tuple(cams)
        slate = replace(self.slate, **changes)
        if "take" in fields:
            try:
                number = int(str(fields["take"]).strip())
            except ValueError:
                raise RecorderError(f"take number must be a whole number, got {fields['take']!r}") from None
            if not 1 <= number <= 9999:
                raise RecorderError(f"take number must be 1..9999, got {number}")
            slate = replace(slate, take=number)
        elif (slate.production, slate.scene, slate.shot) != (
            self.slate.production,
            self.slate.scene,
            self.slate.shot,
        ):
            slate = replace(slate, take=self._numbers.get((slate.production, slate.scene, slate.shot), 0) + 1)
        self.slate = slate
        return slate

    def _next_take(self) -> None:
        key = (self.slate.production, self.slate.scene, self.slate.shot)
        self.slate = replace(self.slate, take=max(self.slate.take, self._numbers.get(key, 0) + 1))



class TakeLogging:
    """Cues, looks, device changes, notes and dropouts into the take in progress."""

    _writer: JournalWriter | None
    clock: StageClock
    cameras: dict[str, RecordedCamera]
    look_of: Callable[[], tuple[str, Mapping[str, Cdl]]]
    _per_day: int

    # --- log ------------------------------------------------------------------------------------

    def _log(self, ns: int, kind: str, source: str, text: str, data: Mapping[str, Any]) -> None:
        writer = self._writer
        if writer is None:
            return
        frame = self.clock.frame_at(ns) % self._per_day
        try:
            payload = dumps(
                {"ns": ns, "frame": frame, "kind": kind, "source": source, "text": text, "data": dict(data)}
            )
        except (TypeError, ValueError):
            payload = dumps(
                {"ns": ns, "frame": frame, "kind": kind, "source": source, "text": text, "data": {}}
            )
        writer.put(LOG, payload)

    def _on_event(self, event: StageEvent) -> None:
        """A stage event into the take's log: not the recorder's own, and only what the take keeps
        (:meth:`StageEvent.recorded_in_take`: no discovery chatter, every error)."""
        if self._writer is None or event.source == SOURCE or not event.recorded_in_take():
            return
        kind = _EVENT_KINDS.get(event.kind, "event")
        data: dict[str, Any] = {"level": event.level.name}
        if event.kind == "state" and self._is_tracking_source(event.source):
            kind = "dropout"  # a camera's stream going stale or down, or coming back
            data["state"] = event.message.split(":", 1)[0].split(" ", 1)[0]
        if kind == "cue":
            look, _ = self._look()
            if look:
                data["look"] = look
        self._log(event.monotonic_ns, kind, event.source, event.message, data)

    def _is_tracking_source(self, name: str) -> bool:
        return any(h.name == name for pipeline in self.cameras.values() for h in pipeline.sources)

    def _look(self) -> tuple[str, Mapping[str, Cdl]]:
        try:
            return self.look_of()
        except Exception as exc:  # the look lookup must never stop a take
            log.debug("take recorder: live look unavailable: %s", exc)
            return "", {}

