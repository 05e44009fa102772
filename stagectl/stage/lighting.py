"""The stage's looks and cues, built from ``[looks]``: the looks folder, the cue engine and the status the
window draws.

* Looks and cues: a :class:`LookStore` in the looks folder (factory looks, and a starter cue list,
  copied into an empty one) and a :class:`CueEngine` fading looks onto the stage's devices
  (:class:`stagectl.stage.devices.DeviceRegistry` keeps the engine's devices).
* :class:`LightingStatus`: the DP panel's picture of devices, looks, cues and discovery.

Everything runs on the I/O loop. The window reads :attr:`StageLighting.latest`, a frozen
:class:`LightingStatus` the loop refreshes every 50 ms while someone reads it, and once a second
while nobody does (an atomic reference swap, so a reader never sees the engine half-way through a
tick; a headless stage nobody watches does not make 20 of them a second).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from presets.cues import CueEngine, EngineStatus
from presets.model import Cue, CueList, Look, LookError
from presets.store import CUES_FILE, LookStore
from stagectl.config.model import DeviceConfig, StageConfig
from stagectl.core.colour import Cdl
from stagectl.core.errors import StageError
from stagectl.core.events import EventQueue, Level
from stagectl.core.features import DeviceStatus
from stagectl.core.runtime import async_cancel
from stagectl.discovery.mdns import FoundDevice
from stagectl.discovery.stage import StageDiscovery
from stagectl.stage.devices import DeviceRegistry
from stagectl.stage.folders import looks_folder

STATUS_PERIOD_S = 0.05
#: The refresh period while nobody has read the status for :data:`READ_RECENT_S` seconds.
IDLE_PERIOD_S = 1.0
READ_RECENT_S = 0.25
SOURCE = "looks"
#: The cue list a new looks folder starts with (only factory looks in it): something to GO through.
STARTER_CUES = (Cue("1", "Safe (house lights)", 0.0, label="House"),
                Cue("2", "Daylight 5600", 3.0, label="Day exterior"),
                Cue("3", "Golden hour", 8.0, label="Sunset"),
                Cue("4", "Night blue", 5.0, delay_s=1.0, label="Night"))


@dataclass(frozen=True, slots=True)
class LightingStatus:
    """What the DP panel draws, copied on the loop at one instant."""

    devices: tuple[DeviceStatus, ...] = ()
    engine: EngineStatus | None = None
    looks: tuple[Look, ...] = ()
    cues: tuple[Cue, ...] = ()
    look_errors: tuple[str, ...] = ()
    looks_dir: str = ""
    features: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Feature names by device (for the panel's device table)."""
    found: tuple[FoundDevice, ...] = ()
    """Devices seen on the network (zeroconf), by kind then name."""
    found_added: Mapping[str, str] = field(default_factory=dict)
    """``found.url`` -> the device of this stage at that address, or
    :data:`stagectl.discovery.stage.OWN_CONTROL` for this stage's own control service."""
    discovery: str = ""
    """Zeroconf in one line: ``browsing on 127.0.0.1``, ``mDNS unavailable: ...``, ``off (...)``."""
    session_devices: tuple[DeviceConfig, ...] = ()
    """Devices added while running (gone at the next start unless their table is in the stage file)."""
    add_refusals: tuple[tuple[int, str, str], ...] = ()
    """The last refused adds: (sequence number, counting up; device name; why), oldest first."""


def make_cue_engine(config: StageConfig, events: EventQueue) -> CueEngine:
    """The stage's cue engine over its looks folder (``[looks]``), with no device yet (the
    :class:`DeviceRegistry` given it adds them) and an empty cue list until the folder is read."""
    looks = config.looks
    return CueEngine({}, LookStore(looks_folder(config)), events=events, rate_hz=looks.rate_hz,
                     cues=CueList(), safe_look=looks.safe, default_fade_s=looks.fade_s)


class StageLighting:
    """Looks, cues and the lighting status of one stage (see the module docstring).

    Attributes:
        config: the stage file.
        engine: the cue engine (the one control-in and the window drive).
        store: the looks folder.
        latest: the newest :class:`LightingStatus` (any thread).
        refreshes: statuses made.
    """

    def __init__(self, config: StageConfig, engine: CueEngine, devices: DeviceRegistry,
                 discovery: StageDiscovery, events: EventQueue) -> None:
        self.config = config
        self.events = events
        self.engine = engine
        self.store: LookStore = engine.store
        self._latest = LightingStatus(looks_dir=str(self.store.folder))
        self._read_at = time.monotonic()
        self.refreshes = 0
        self._devices = devices
        self._discovery = discovery
        self._looks: tuple[Look, ...] = ()
        self._look_errors: tuple[str, ...] = ()
        self._status_task: asyncio.Task[None] | None = None

    # --- lifecycle (I/O loop) ---------------------------------------------------------------------

    async def async_start(self) -> None:
        """Read the looks folder and the cue list (off the loop), then publish the status every 50 ms."""
        await self.async_reload_looks()
        self._refresh()
        self._status_task = asyncio.get_running_loop().create_task(self._async_refresh(),
                                                                   name="lighting status")

    async def async_stop(self) -> None:
        """Stop publishing and stop every fade where it is."""
        task, self._status_task = self._status_task, None
        await async_cancel(task)
        self.engine.runner.cancel_all()

    # --- looks (I/O loop) -------------------------------------------------------------------------

    async def async_reload_looks(self) -> None:
        """Read the looks folder and its cue list again (on a worker thread); bad files are reported,
        the rest load."""
        def load() -> tuple[list[str], tuple[Look, ...], tuple[str, ...], CueList | LookError]:
            copied = self.store.ensure_factory()
            if copied and not (self.store.folder / CUES_FILE).exists():
                self.store.save_cues(CueList.of(STARTER_CUES))
            result = self.store.load_all()
            try:
                cues: CueList | LookError = self.store.load_cues()
            except LookError as exc:
                cues = exc
            return copied, tuple(result.looks), tuple(str(e) for e in result.errors), cues

        try:
            copied, self._looks, self._look_errors, cues = await asyncio.to_thread(load)
        except OSError as exc:
            self.events.post(Level.ERROR, SOURCE, "error",
                             f"cannot read the looks folder {self.store.folder}: {exc}")
            return
        if copied:
            self.events.post(Level.INFO, SOURCE, "info", f"factory looks copied into {self.store.folder}: "
                             f"{', '.join(copied)}")
        for error in self._look_errors:
            self.events.post(Level.ERROR, SOURCE, "error", error)
        if isinstance(cues, LookError):
            self.events.post(Level.WARNING, "cues", "error", str(cues))
        else:
            self.engine.set_cues(cues)

    async def async_save_look(self, look: Look, name: str) -> None:
        """Write ``look`` as ``name`` to the looks folder (on a worker thread), then reload the looks.

        A bad name or a failed write is posted as an ERROR event (the DP panel's "Save as look").
        """
        try:
            renamed = look.renamed(name)
            path = await asyncio.to_thread(self.store.save, renamed, replace=False)
        except (StageError, OSError, ValueError) as exc:
            self.events.post(Level.ERROR, SOURCE, "error", f"look {name!r} not saved: {exc}")
            return
        self.events.post(Level.INFO, SOURCE, "info", f"look {name!r} saved to {path}")
        await self.async_reload_looks()

    def live_look(self) -> tuple[str, Mapping[str, Cdl]]:
        """The live look's name ('' for none) and its CDL per zone (what a take keeps of the look)."""
        name = self.engine.status().live_look
        if not name:
            return "", {}
        look = next((x for x in self._looks if x.name == name), None)
        if look is None:
            return name, {}
        return name, {zone: v.cdl for zone, v in look.zones.items() if v.cdl is not None}

    # --- status -----------------------------------------------------------------------------------

    @property
    def latest(self) -> LightingStatus:
        """The newest status (any thread): at most 50 ms old while read often, a second when not."""
        self._read_at = time.monotonic()
        return self._latest

    async def _async_refresh(self) -> None:
        while True:
            watched = time.monotonic() - self._read_at < READ_RECENT_S
            await asyncio.sleep(STATUS_PERIOD_S if watched else IDLE_PERIOD_S)
            self._refresh()

    def _refresh(self) -> None:
        engine, devices, discovery = self.engine, self._devices, self._discovery
        found = discovery.found()
        self.refreshes += 1
        self._latest = LightingStatus(
            devices=tuple(d.status() for d in devices.values()),
            engine=engine.status(), looks=self._looks, cues=tuple(engine.cues),
            look_errors=self._look_errors, looks_dir=str(self.store.folder),
            features={name: tuple(f.name for f in d.features) for name, d in devices.items()},
            found=found, found_added=discovery.added(found, devices.processor_urls()),
            discovery=discovery.note, session_devices=tuple(devices.session_devices),
            add_refusals=devices.refusals)
