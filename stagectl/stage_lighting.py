"""The stage's lighting side, built from ``[[devices]]``, ``[looks]``, ``[control]``: devices, looks, cues.

* Devices: LED processors (Tessera, HELIOS; with ``emulator = true`` stagectl's emulator of the
  processor runs on loopback and the device talks to it), generic OSC devices, sACN fixtures, and
  the inner frustum of every remote-control output (:class:`FrustumDevice`, zone ``frustum``).
* Looks and cues: a :class:`LookStore` in the looks folder (factory looks copied into an empty one)
  and a :class:`CueEngine` fading looks onto the devices.

Everything runs on the I/O loop. The window reads :attr:`StageLighting.latest`, a frozen
:class:`LightingStatus` the loop refreshes every 50 ms (an atomic reference swap, so a reader
never sees the engine half-way through a tick).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from led_wall.device import Device, DeviceStatus, Fade
from led_wall.dmx import SacnDevice
from led_wall.emulators.helios_emulator import HeliosEmulator
from led_wall.emulators.tessera_emulator import TesseraEmulator
from led_wall.fixtures import Fixture, find_profile
from led_wall.helios import HeliosDevice
from led_wall.osc_device import OscDevice, OscFeatureSpec
from led_wall.tessera import TesseraDevice
from presets.cues import CueEngine, EngineStatus
from presets.model import Cue, CueList, Look
from presets.store import CUES_FILE, LookStore
from stagectl.config_model import DeviceConfig, StageConfig
from stagectl.control import ControlError, ControlServer
from stagectl.errors import ConfigError, StageError
from stagectl.events import EventQueue, Level
from stagectl.unreal.frustum import FrustumSender
from stagectl.unreal.frustum_device import FrustumDevice

DATA_DIR_ENV = "STAGECTL_DATA_DIR"
STATUS_PERIOD_S = 0.05
SOURCE = "looks"
#: The cue list a new looks folder starts with (only factory looks in it): something to GO through.
STARTER_CUES = (Cue("1", "Safe (house lights)", 0.0, label="House"),
                Cue("2", "Daylight 5600", 3.0, label="Day exterior"),
                Cue("3", "Golden hour", 8.0, label="Sunset"),
                Cue("4", "Night blue", 5.0, delay_s=1.0, label="Night"))


def default_data_dir() -> Path:
    """``$STAGECTL_DATA_DIR``, else ``$XDG_DATA_HOME/stagectl``, else ``~/.local/share/stagectl``."""
    explicit = os.environ.get(DATA_DIR_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "stagectl"


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


class StageLighting:
    """Devices, looks and the cue engine of one stage (see the module docstring).

    Attributes:
        devices: every device by name (frustum devices included).
        store: the looks folder.
        engine: the cue engine (None until started).
        latest: the newest :class:`LightingStatus` (any thread).
    """

    def __init__(self, config: StageConfig, events: EventQueue,
                 frustum_senders: Mapping[str, FrustumSender]) -> None:
        self.events = events
        self.config = config
        self.devices: dict[str, Device] = {}
        self.emulators: dict[str, TesseraEmulator | HeliosEmulator] = {}
        for device in config.devices:
            self.devices[device.name] = self._device(device)
        for n, sender in enumerate(frustum_senders.values()):
            name = "frustum" if n == 0 else f"frustum-{n + 1}"
            self.devices[name] = FrustumDevice(sender, name, events=events)
        folder = config.looks.dir or default_data_dir() / "looks"
        self.store = LookStore(folder)
        self.engine: CueEngine | None = None
        self.latest = LightingStatus(looks_dir=str(folder))
        self._looks: tuple[Look, ...] = ()
        self._look_errors: tuple[str, ...] = ()
        self._status_task: asyncio.Task[None] | None = None
        self.control: ControlServer | None = None
        """The OSC control-in server (``[control]``), None without one."""

    def _device(self, d: DeviceConfig) -> Device:
        timeout_s, poll_s = d.timeout_ms / 1000.0, d.poll_ms / 1000.0
        if d.kind in ("tessera", "helios"):
            url = d.url or ""
            if d.emulator:
                self.emulators[d.name] = TesseraEmulator() if d.kind == "tessera" else HeliosEmulator()
            if d.kind == "tessera":
                return TesseraDevice(d.name, url, zone=d.zone, events=self.events, timeout_s=timeout_s,
                                     poll_s=poll_s)
            return HeliosDevice(d.name, url, write_verb=d.write_verb, peak_nits=d.peak_nits, zone=d.zone,
                                events=self.events, timeout_s=timeout_s, poll_s=poll_s)
        if d.kind == "osc":
            assert d.target is not None
            specs = [OscFeatureSpec(f.name, f.address, f.type, f.unit, f.minimum, f.maximum, Fade(f.fade),
                                    f.zone_value) for f in d.features]
            try:
                return OscDevice(d.name, str(d.target), specs, zone=d.zone, events=self.events, poll_s=poll_s,
                                 timeout_s=timeout_s)
            except ValueError as exc:
                raise ConfigError(str(exc), key=f"devices[{d.index}].features") from exc
        fixtures = []
        for n, f in enumerate(d.fixtures):
            try:
                fixtures.append(Fixture(f.name, find_profile(f.profile), f.universe, f.address, f.group))
            except (StageError, ValueError) as exc:
                raise ConfigError(str(exc), key=f"devices[{d.index}].fixtures[{n}]") from exc
        target = None if d.target is None else str(d.target)
        local = target is not None and target.startswith("127.")
        try:
            return SacnDevice(d.name, fixtures, target=target, priority=d.priority, fps=round(d.fps),
                              bind_address=d.interface or ("127.0.0.1" if local else "0.0.0.0"),
                              zone=d.zone, events=self.events, poll_s=poll_s, timeout_s=timeout_s)
        except (StageError, ValueError) as exc:  # overlapping fixtures, a footprint past slot 512
            raise ConfigError(str(exc), key=f"devices[{d.index}].fixtures") from exc

    # --- lifecycle (I/O loop) ---------------------------------------------------------------------

    async def async_start(self) -> None:
        """Start emulators and devices, load the looks (off the loop), start the cue engine."""
        for name, emulator in self.emulators.items():
            await emulator.start()
            device = self.devices[name]
            assert isinstance(device, TesseraDevice | HeliosDevice)
            device.set_url(emulator.url)
        for device in self.devices.values():
            try:
                await device.async_start()
            except Exception as exc:  # one device that cannot open costs only that device
                self.events.post(Level.ERROR, device.name, "error", f"could not start: {exc}")
        await self.async_reload_looks()
        looks = self.config.looks
        self.engine = CueEngine(self.devices, self.store, events=self.events, rate_hz=looks.rate_hz,
                                safe_look=looks.safe, default_fade_s=looks.fade_s)
        self._refresh()
        self._status_task = asyncio.get_running_loop().create_task(self._async_refresh(),
                                                                   name="lighting status")
        control = self.config.control
        if control is not None:
            from stagectl.stage_control import StageControlActions

            server = ControlServer(control.listen, StageControlActions(self), allow=control.allow,
                                   passcode=control.passcode, reply_port=control.reply_port,
                                   events=self.events)
            try:
                await server.async_start()
            except (ControlError, OSError) as exc:  # the stage runs on without control-in
                self.events.post(Level.ERROR, "control", "error", f"OSC control-in not started: {exc}")
            else:
                self.control = server

    async def async_stop(self) -> None:
        """Stop the cue engine's fades, the devices and the emulators."""
        if self._status_task is not None:
            self._status_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._status_task
            self._status_task = None
        if self.control is not None:
            await self.control.async_stop()
            self.control = None
        if self.engine is not None:
            self.engine.runner.cancel_all()
        for device in self.devices.values():
            try:
                await device.async_stop()
            except Exception as exc:  # keep stopping the others
                self.events.post(Level.ERROR, device.name, "error", f"error while stopping: {exc}")
        for emulator in self.emulators.values():
            await emulator.stop()

    async def async_reload_looks(self) -> None:
        """Read the looks folder again (on a worker thread); bad files are reported, the rest load."""
        def load() -> tuple[list[str], tuple[Look, ...], tuple[str, ...]]:
            copied = self.store.ensure_factory()
            if copied and not (self.store.folder / CUES_FILE).exists():
                self.store.save_cues(CueList.of(STARTER_CUES))
            result = self.store.load_all()
            return copied, tuple(result.looks), tuple(str(e) for e in result.errors)

        try:
            copied, self._looks, self._look_errors = await asyncio.to_thread(load)
        except OSError as exc:
            self.events.post(Level.ERROR, SOURCE, "error",
                             f"cannot read the looks folder {self.store.folder}: {exc}")
            return
        if copied:
            self.events.post(Level.INFO, SOURCE, "info", f"factory looks copied into {self.store.folder}: "
                             f"{', '.join(copied)}")
        for error in self._look_errors:
            self.events.post(Level.ERROR, SOURCE, "error", error)
        if self.engine is not None:
            with contextlib.suppress(Exception):
                self.engine.set_cues(self.store.load_cues())

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

    # --- status -----------------------------------------------------------------------------------

    async def _async_refresh(self) -> None:
        while True:
            await asyncio.sleep(STATUS_PERIOD_S)
            self._refresh()

    def _refresh(self) -> None:
        engine = self.engine
        self.latest = LightingStatus(
            devices=tuple(d.status() for d in self.devices.values()),
            engine=engine.status() if engine is not None else None,
            looks=self._looks, cues=tuple(engine.cues) if engine is not None else (),
            look_errors=self._look_errors, looks_dir=str(self.store.folder),
            features={name: tuple(f.name for f in d.features) for name, d in self.devices.items()})
