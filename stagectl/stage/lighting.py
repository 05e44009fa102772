"""The stage's lighting side, built from ``[[devices]]``, ``[looks]``, ``[control]``: devices, looks, cues.

* Devices: LED processors (Tessera, HELIOS; with ``emulator = true`` stagectl's emulator of the
  processor runs on loopback and the device talks to it), generic OSC devices, sACN fixtures, and
  the inner frustum of every remote-control output (:class:`FrustumDevice`, zone ``frustum``).
* Looks and cues: a :class:`LookStore` in the looks folder (factory looks copied into an empty one)
  and a :class:`CueEngine` fading looks onto the devices.
* Discovery (``[discovery]``, :mod:`stagectl.discovery.stage`): devices found on the network, the
  emulators and the control service announced; a device can be added while running
  (:meth:`StageLighting.async_add_device`, for this session: :func:`stage_file_snippet` keeps it).

Everything runs on the I/O loop. The window reads :attr:`StageLighting.latest`, a frozen
:class:`LightingStatus` the loop refreshes every 50 ms (an atomic reference swap, so a reader
never sees the engine half-way through a tick).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from led_wall.dmx import SacnDevice
from led_wall.emulators.helios_emulator import HeliosEmulator
from led_wall.emulators.tessera_emulator import TesseraEmulator
from led_wall.fixtures import Fixture, find_profile
from led_wall.helios import HeliosDevice
from led_wall.http_client import HttpProcessorDevice
from led_wall.osc_device import OscDevice, OscFeatureSpec
from led_wall.tessera import TesseraDevice
from presets.cues import CueEngine, EngineStatus
from presets.model import Cue, CueList, Look
from presets.store import CUES_FILE, LookStore
from stagectl.config.model import DeviceConfig, StageConfig
from stagectl.control.server import ControlError, ControlServer
from stagectl.core.device import Device, DeviceStatus, Fade
from stagectl.core.errors import ConfigError, StageError
from stagectl.core.events import EventQueue, Level
from stagectl.discovery.mdns import FoundDevice
from stagectl.discovery.stage import EmulatorAdvert, StageDiscovery, check_device_config, endpoint_key
from stagectl.takes.recorder import Recorder
from stagectl.unreal.frustum import FrustumSender
from stagectl.unreal.frustum_device import FrustumDevice

DATA_DIR_ENV = "STAGECTL_DATA_DIR"
STATUS_PERIOD_S = 0.05
SOURCE = "looks"
SOURCE_DEVICES = "devices"
MAX_REFUSALS = 20
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
        self.recorder: Recorder | None = None
        """The stage's take recorder (set by the Stage), for control-in's take record / stop."""
        """The OSC control-in server (``[control]``), None without one."""
        self.discovery = StageDiscovery(config, events)
        """Zeroconf browsing and adverts (``[discovery]``)."""
        self.session_devices: list[DeviceConfig] = []
        """Devices added with :meth:`async_add_device`, in order."""
        self._adding: set[str] = set()
        self._refusals: tuple[tuple[int, str, str], ...] = ()
        self._refused = 0
        self._tasks: set[asyncio.Task[object]] = set()

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
            from stagectl.control.actions import StageControlActions

            server = ControlServer(control.listen, StageControlActions(self), allow=control.allow,
                                   passcode=control.passcode, reply_port=control.reply_port,
                                   events=self.events)
            try:
                await server.async_start()
            except (ControlError, OSError) as exc:  # the stage runs on without control-in
                self.events.post(Level.ERROR, "control", "error", f"OSC control-in not started: {exc}")
            else:
                self.control = server
        advertise = self.control is not None and control is not None and control.advertise
        self.discovery.start([_emulator_advert(name, e) for name, e in self.emulators.items()],
                             self.control.address if advertise and self.control is not None else None,
                             passcode_required=control is not None and control.passcode is not None)

    async def async_stop(self) -> None:
        """Withdraw the adverts and stop browsing; stop the cue engine's fades, the devices and emulators."""
        # The goodbye packets take ~250 ms: they go out while the rest stops.
        discovery_stopped = asyncio.ensure_future(self.discovery.async_stop())
        for task in list(self._tasks):
            task.cancel()
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
        await discovery_stopped

    # --- adding devices while running (I/O loop) --------------------------------------------------

    def add_device_soon(self, config: DeviceConfig) -> None:
        """:meth:`async_add_device` in the background: for ``call_in_loop`` (the window never waits)."""
        task: asyncio.Task[object] = asyncio.get_running_loop().create_task(
            self.async_add_device(config), name=f"add device {config.name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def async_add_device(self, config: DeviceConfig) -> Device | None:
        """Build ``config`` as the stage file would (same checks, same :meth:`_device`), start it and
        make it part of the stage for this session: looks reach its zone, control-in reaches
        ``/stagectl/device/<name>/...``. A refusal (bad table, a name or address already used, a
        device that cannot start) is an ERROR event and None.
        """
        try:
            config = check_device_config(config)
        except ConfigError as exc:
            self._refuse(config.name, str(exc))
            return None
        if config.name in self.devices or config.name in self._adding:
            self._refuse(config.name, f"a device of that name exists (devices: {', '.join(self.devices)}); "
                         "allowed: a name no other device has")
            return None
        key = None if config.emulator or config.url is None else endpoint_key(config.url)
        same = next((name for name, url in processor_urls(self.devices).items()
                     if key is not None and endpoint_key(url) == key), None)
        if same is not None:
            self._refuse(config.name, f"{config.url} is already device {same!r} (two devices writing to one "
                         "processor would fight)")
            return None
        config = replace(config, index=len(self.config.devices) + len(self.session_devices))
        self._adding.add(config.name)
        try:
            return await self._async_add(config)
        finally:
            self._adding.discard(config.name)

    def _refuse(self, name: str, why: str) -> None:
        """An add refused: an ERROR event, and a line in :attr:`LightingStatus.add_refusals`."""
        self.events.post(Level.ERROR, SOURCE_DEVICES, "error", f"device {name!r} not added: {why}")
        self._refused += 1
        self._refusals = (*self._refusals[-(MAX_REFUSALS - 1):], (self._refused, name, why))

    async def _async_add(self, config: DeviceConfig) -> Device | None:
        try:
            device = self._device(config)
        except StageError as exc:
            self._refuse(config.name, str(exc))
            return None
        emulator = self.emulators.get(config.name) if config.emulator else None
        try:
            if emulator is not None:
                await emulator.start()
                assert isinstance(device, TesseraDevice | HeliosDevice)
                device.set_url(emulator.url)
            await device.async_start()
        except BaseException as exc:  # it never joins the stage (a cancelled add, too: the stage stopping)
            if isinstance(exc, Exception):
                self._refuse(config.name, f"could not start: {exc}")
            with contextlib.suppress(Exception):
                await device.async_stop()
            if emulator is not None:
                self.emulators.pop(config.name, None)
                with contextlib.suppress(Exception):
                    await emulator.stop()
            if not isinstance(exc, Exception):
                raise
            return None
        self.devices[config.name] = device
        self.session_devices.append(config)
        if emulator is not None:
            self.discovery.advertise_emulator(_emulator_advert(config.name, emulator))
        self.events.post(Level.INFO, SOURCE_DEVICES, "state",
                         f"device {config.name!r} ({config.kind} at {device.target}"
                         f"{f', zone {config.zone}' if config.zone else ''}) added for this session; to keep "
                         "it, add its [[devices]] table to the stage file")
        self._refresh()
        return device

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
        found = self.discovery.found()
        self.latest = LightingStatus(
            devices=tuple(d.status() for d in self.devices.values()),
            engine=engine.status() if engine is not None else None,
            looks=self._looks, cues=tuple(engine.cues) if engine is not None else (),
            look_errors=self._look_errors, looks_dir=str(self.store.folder),
            features={name: tuple(f.name for f in d.features) for name, d in self.devices.items()},
            found=found, found_added=self.discovery.added(found, processor_urls(self.devices)),
            discovery=self.discovery.note, session_devices=tuple(self.session_devices),
            add_refusals=self._refusals)


def processor_urls(devices: Mapping[str, Device]) -> dict[str, str]:
    """The base URL of every HTTP processor device (Tessera, HELIOS) by name."""
    return {name: d.url for name, d in devices.items() if isinstance(d, HttpProcessorDevice)}


def _emulator_advert(device: str, emulator: TesseraEmulator | HeliosEmulator) -> EmulatorAdvert:
    kind = "tessera" if isinstance(emulator, TesseraEmulator) else "helios"
    return EmulatorAdvert(device, kind, emulator.port)
