"""The stage's devices, built from ``[[devices]]`` and the remote-control outputs: one registry.

* LED processors (Tessera, HELIOS; with ``emulator = true`` stagectl's emulator of the processor
  runs on loopback and the device talks to it; a table with ``username`` makes that emulator
  require the same credentials), generic OSC devices, sACN fixtures, and the inner
  frustum of every remote-control output (:class:`FrustumDevice`, zone ``frustum``).
* Devices come and go while the stage runs: :meth:`DeviceRegistry.async_add_device` builds one as
  the stage file would, for this session (:func:`stagectl.discovery.stage.stage_file_snippet` is
  the table that keeps it); :meth:`DeviceRegistry.async_remove_device` takes one off the stage.

The registry is the stage's one map of devices (a read-only mapping, name -> device); the cue
engine it is given reaches exactly these devices, added and removed with them. Everything runs on
the I/O loop.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping
from dataclasses import replace
from typing import Any

from led_wall.dmx import SacnDevice
from led_wall.emulators.helios_emulator import HeliosEmulator
from led_wall.emulators.tessera_emulator import TesseraEmulator
from led_wall.fixtures import Fixture, find_profile
from led_wall.helios import HeliosDevice
from led_wall.http_client import HttpProcessorDevice
from led_wall.osc_device import OscDevice, OscFeatureSpec
from led_wall.tessera import TesseraDevice
from presets.cues import CueEngine
from stagectl.config.model import DeviceConfig, StageConfig
from stagectl.core.device import Device
from stagectl.core.errors import ConfigError, StageError
from stagectl.core.events import EventQueue, Level
from stagectl.core.features import Fade
from stagectl.core.http_server import ServerAuth
from stagectl.discovery.stage import EmulatorAdvert, StageDiscovery, check_device_config, endpoint_key
from stagectl.unreal.frustum import FrustumSender
from stagectl.unreal.frustum_device import FrustumDevice

log = logging.getLogger("stagectl.stage")

SOURCE = "devices"
MAX_REFUSALS = 20

Emulator = TesseraEmulator | HeliosEmulator


def build_device(d: DeviceConfig, events: EventQueue) -> tuple[Device, Emulator | None]:
    """The device a ``[[devices]]`` table describes, and the emulator it talks to (``emulator = true``;
    not started: its URL is set on the device once it listens). ConfigError naming the table's key."""
    timeout_s, poll_s = d.timeout_ms / 1000.0, d.poll_ms / 1000.0
    if d.kind in ("tessera", "helios"):
        url = d.url or ""
        emulator: Emulator | None = None
        if d.emulator:  # with credentials, the emulator requires them, as the processor would
            auth = None if d.username is None else ServerAuth(
                d.username, d.password, ("basic",) if d.kind == "tessera" else ("digest", "basic"))
            emulator = TesseraEmulator(auth=auth) if d.kind == "tessera" else HeliosEmulator(auth=auth)
        if d.kind == "tessera":
            return TesseraDevice(d.name, url, zone=d.zone, events=events, timeout_s=timeout_s,
                                 poll_s=poll_s, username=d.username, password=d.password), emulator
        return HeliosDevice(d.name, url, write_verb=d.write_verb, peak_nits=d.peak_nits, zone=d.zone,
                            events=events, timeout_s=timeout_s, poll_s=poll_s, username=d.username,
                            password=d.password), emulator
    if d.kind == "osc":
        assert d.target is not None
        specs = [OscFeatureSpec(f.name, f.address, f.type, f.unit, f.minimum, f.maximum, Fade(f.fade),
                                f.zone_value) for f in d.features]
        try:
            return OscDevice(d.name, str(d.target), specs, zone=d.zone, events=events, poll_s=poll_s,
                             timeout_s=timeout_s), None
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
                          zone=d.zone, events=events, poll_s=poll_s, timeout_s=timeout_s), None
    except (StageError, ValueError) as exc:  # overlapping fixtures, a footprint past slot 512
        raise ConfigError(str(exc), key=f"devices[{d.index}].fixtures") from exc


def processor_urls(devices: Mapping[str, Device]) -> dict[str, str]:
    """The base URL of every HTTP processor device (Tessera, HELIOS) by name."""
    return {name: d.url for name, d in devices.items() if isinstance(d, HttpProcessorDevice)}


def emulator_advert(device: str, emulator: Emulator) -> EmulatorAdvert:
    """What announcing ``emulator`` (standing in for ``device``) needs."""
    kind = "tessera" if isinstance(emulator, TesseraEmulator) else "helios"
    return EmulatorAdvert(device, kind, emulator.port)


class DeviceRegistry(Mapping[str, Device]):
    """Every device of one stage, by name, in the order they joined (see the module docstring).

    Construct anywhere (the devices are built, closed); start, stop, add and remove on the I/O loop.

    Attributes:
        engine: the cue engine, which reaches every device of the registry.
        emulators: the processor emulators, by the name of the device each stands in for.
        session_devices: devices added while running and still on the stage (gone at the next start
            unless their table is in the stage file), in order.
    """

    def __init__(self, config: StageConfig, events: EventQueue, frustum_senders: Mapping[str, FrustumSender],
                 engine: CueEngine, discovery: StageDiscovery) -> None:
        self.config = config
        self.events = events
        self.engine = engine
        self._discovery = discovery
        self._devices: dict[str, Device] = {}
        self.emulators: dict[str, Emulator] = {}
        self.session_devices: list[DeviceConfig] = []
        self._indexes = itertools.count(len(config.devices))
        self._busy: set[str] = set()
        self._refusals: tuple[tuple[int, str, str], ...] = ()
        self._refused = 0
        self._tasks: set[asyncio.Task[object]] = set()
        self.discard_errors = 0
        """Failures closing what a refused add had opened (logged)."""
        for table in config.devices:
            self._join(*build_device(table, events))
        taken = itertools.count(2)
        for n, sender in enumerate(frustum_senders.values()):
            name = "frustum" if n == 0 else f"frustum-{n + 1}"
            while name in self._devices:  # a [[devices]] table took the name
                name = f"frustum-{next(taken)}"
            self._join(FrustumDevice(sender, name, events=events), None)

    # --- the mapping ----------------------------------------------------------------------------

    def __getitem__(self, name: str) -> Device:
        return self._devices[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._devices)

    def __len__(self) -> int:
        return len(self._devices)

    @property
    def refusals(self) -> tuple[tuple[int, str, str], ...]:
        """The last refused adds: (sequence number, counting up; device name; why), oldest first."""
        return self._refusals

    def processor_urls(self) -> dict[str, str]:
        """The base URL of every HTTP processor device by name (what discovery marks as added)."""
        return processor_urls(self._devices)

    def emulator_adverts(self) -> list[EmulatorAdvert]:
        """What announcing every running emulator needs (after :meth:`async_start`)."""
        return [emulator_advert(name, e) for name, e in self.emulators.items()]

    def _join(self, device: Device, emulator: Emulator | None) -> None:
        self.engine.add_device(device)
        self._devices[device.name] = device
        if emulator is not None:
            self.emulators[device.name] = emulator

    # --- lifecycle (I/O loop) -------------------------------------------------------------------

    async def async_start(self) -> None:
        """Start the emulators, point their devices at them, start every device; a device that cannot
        open costs only that device (an ERROR event)."""
        for name, emulator in self.emulators.items():
            await emulator.async_start()
            device = self._devices[name]
            assert isinstance(device, TesseraDevice | HeliosDevice)
            device.set_url(emulator.url)
        for device in self._devices.values():
            try:
                await device.async_start()
            except Exception as exc:  # one device that cannot open costs only that device
                self.events.post(Level.ERROR, device.name, "error", f"could not start: {exc}")

    async def async_stop(self) -> None:
        """Cancel adds and removals under way, stop every device and emulator."""
        for task in list(self._tasks):
            task.cancel()
        for device in list(self._devices.values()):
            await self._async_stop_device(device)
        for name, emulator in list(self.emulators.items()):
            await self._async_stop_emulator(name, emulator)

    async def _async_stop_device(self, device: Device) -> None:
        try:
            await device.async_stop()
        except Exception as exc:  # keep stopping the others
            self.events.post(Level.ERROR, device.name, "error", f"error while stopping: {exc}")

    async def _async_stop_emulator(self, name: str, emulator: Emulator) -> None:
        try:
            await emulator.async_stop()
        except Exception as exc:  # keep stopping the others
            self.events.post(Level.ERROR, name, "error", f"emulator: error while stopping: {exc}")

    # --- adding and removing while running (I/O loop) -------------------------------------------

    def add_device_soon(self, config: DeviceConfig) -> None:
        """:meth:`async_add_device` in the background (the window never waits)."""
        self._spawn(self.async_add_device(config), f"add device {config.name}")

    def remove_device_soon(self, name: str) -> None:
        """:meth:`async_remove_device` in the background (the window never waits)."""
        self._spawn(self.async_remove_device(name), f"remove device {name}")

    def _spawn(self, coro: Coroutine[Any, Any, object], label: str) -> None:
        task: asyncio.Task[object] = asyncio.get_running_loop().create_task(coro, name=label)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def async_add_device(self, config: DeviceConfig) -> Device | None:
        """Build ``config`` as the stage file would (same checks, same :func:`build_device`), start it
        and make it part of the stage for this session: looks reach its zone, control-in reaches
        ``/stagectl/device/<name>/...``. A refusal (bad table, a name or address already used, a
        device that cannot start) is an ERROR event and None.
        """
        try:
            config = check_device_config(config)
        except ConfigError as exc:
            self._refuse(config.name, str(exc))
            return None
        if config.name in self._devices or config.name in self._busy:
            self._refuse(config.name, f"a device of that name exists (devices: "
                         f"{', '.join(self._devices)}); allowed: a name no other device has")
            return None
        key = None if config.emulator or config.url is None else endpoint_key(config.url)
        same = next((name for name, url in self.processor_urls().items()
                     if key is not None and endpoint_key(url) == key), None)
        if same is not None:
            self._refuse(config.name, f"{config.url} is already device {same!r} (two devices "
                         "writing to one processor would fight)")
            return None
        config = replace(config, index=next(self._indexes))
        self._busy.add(config.name)
        try:
            return await self._async_add(config)
        finally:
            self._busy.discard(config.name)

    async def _async_add(self, config: DeviceConfig) -> Device | None:
        try:
            device, emulator = build_device(config, self.events)
        except StageError as exc:
            self._refuse(config.name, str(exc))
            return None
        try:
            if emulator is not None:
                await emulator.async_start()
                assert isinstance(device, TesseraDevice | HeliosDevice)
                device.set_url(emulator.url)
            await device.async_start()
        except BaseException as exc:  # it never joins the stage (a cancelled add, too: the stage stopping)
            if isinstance(exc, Exception):
                self._refuse(config.name, f"could not start: {exc}")
            await self._async_discard(device, emulator)
            if not isinstance(exc, Exception):
                raise
            return None
        self._join(device, emulator)
        self.session_devices.append(config)
        if emulator is not None:
            self._discovery.advertise_emulator(emulator_advert(config.name, emulator))
        self.events.post(Level.INFO, SOURCE, "state",
                         f"device {config.name!r} ({config.kind} at {device.target}"
                         f"{f', zone {config.zone}' if config.zone else ''}) added for this session; to keep "
                         "it, add its [[devices]] table to the stage file")
        return device

    async def async_remove_device(self, name: str) -> bool:
        """Take device ``name`` off the stage: its running fades stop (the rest of each fade goes on),
        the cue engine and control-in no longer reach it (it is an unknown device from now on), it
        is stopped with its emulator, and it leaves the status. True when removed; an unknown name
        (or one being added or removed) is an ERROR event and False.
        """
        if name in self._busy or name not in self._devices:
            why = "it is being added or removed" if name in self._busy else \
                f"there is no such device (devices: {', '.join(self._devices) or 'none'})"
            self.events.post(Level.ERROR, SOURCE, "error", f"device {name!r} not removed: {why}")
            return False
        self._busy.add(name)
        try:
            self.engine.remove_device(name)
            device = self._devices.pop(name)
            self.session_devices[:] = [c for c in self.session_devices if c.name != name]
            emulator = self.emulators.pop(name, None)
            await self._async_stop_device(device)
            if emulator is not None:
                self._discovery.withdraw_emulator(name)
                await self._async_stop_emulator(name, emulator)
            in_file = any(table.name == name for table in self.config.devices)
            self.events.post(Level.INFO, SOURCE, "state", f"device {name!r} removed" +
                             (" for this session (its [[devices]] table brings it back at the next start)"
                              if in_file else ""))
            return True
        finally:
            self._busy.discard(name)

    async def _async_discard(self, device: Device, emulator: Emulator | None) -> None:
        """Close what a refused add opened; what fails here is counted and logged (the add already
        said why it was refused)."""
        steps: list[tuple[str, Callable[[], Awaitable[object]]]] = [("device", device.async_stop)]
        if emulator is not None:
            steps.append(("emulator", emulator.async_stop))
        for what, close in steps:
            try:
                await close()
            except Exception:
                self.discard_errors += 1
                log.warning("closing the %s of refused device %r failed", what, device.name, exc_info=True)

    def _refuse(self, name: str, why: str) -> None:
        """An add refused: an ERROR event, and a line in :attr:`refusals`."""
        self.events.post(Level.ERROR, SOURCE, "error", f"device {name!r} not added: {why}")
        self._refused += 1
        self._refusals = (*self._refusals[-(MAX_REFUSALS - 1):], (self._refused, name, why))
