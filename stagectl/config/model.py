"""The stage file's data model: what a validated stage file becomes (frozen dataclasses).

Validation lives in :mod:`stagectl.config.load` (stage, cameras) and the table checkers beside it
(sources, outputs, devices, takes), all on the kernel's :class:`stagectl.core.check.Checker`; the
reference of the format is ``docs/stage-file.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stagectl.config.web import WebConfig
from stagectl.core.health import DEFAULT_STALE_MS
from stagectl.core.links import Endpoint, SerialSettings
from stagectl.core.timecode import FrameRate

PROTOCOLS = ("freed", "freed-serial", "opentrackio", "lens-serial", "simulator")
"""Tracking protocols this version can receive."""
FUTURE_PROTOCOLS: tuple[str, ...] = ()
"""Protocols a later version adds; rejected with "not available in this version"."""
FUTURE_TABLES = ("lenses",)
"""Top-level tables a later version reads; accepted and kept raw in :attr:`StageConfig.extra`."""
SIMULATED_PROTOCOLS = ("freed", "opentrackio")
"""What a ``protocol = "simulator"`` source can simulate (its ``simulate`` key)."""
DEFAULT_RATE_HZ = 50.0
OPENTRACKIO_PORT = 55555


@dataclass(frozen=True, slots=True)
class CameraConfig:
    """One ``[[cameras]]`` table: a physical camera whose pose the stage tracks."""

    name: str
    delay_ms: float = 0.0
    """Delay applied to its tracking so the pose matches the picture, 0..1000 ms."""
    lens: Path | None = None
    """Lens file, resolved against the stage file's folder (not opened here)."""
    delay_frames: float | None = None
    """The delay as the stage file gave it in frames (``delay_ms`` then holds it in ms)."""
    smoothing: int = 0
    """Moving-average window in samples (0 or 1: off). It adds (n - 1) / 2 sample periods of latency."""
    sensor_mm: tuple[float, float] | None = None
    """The active sensor area (width, height) in mm when neither a lens file nor the tracker says it."""


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """One ``[[sources]]`` table: where the tracking data of one camera comes from."""

    camera: str
    protocol: str
    listen: Endpoint | None
    """UDP address to bind (None for serial sources)."""
    camera_id: int | None = None
    """Only accept packets carrying this FreeD camera id (0..255); None = any."""
    rate_hz: float = DEFAULT_RATE_HZ
    """Packet rate of the simulator (the default, unused, for other protocols)."""
    index: int = 0
    """Position in the file's ``[[sources]]`` array (0-based, as in ``sources[0].listen``)."""
    preset: str = "generic"
    """FreeD vendor preset (tracking.freed.presets)."""
    allow: tuple[str, ...] = ()
    """Sender addresses accepted; empty = any."""
    group: str | None = None
    """OpenTrackIO: the multicast group to join (else unicast on ``listen``)."""
    interface: str | None = None
    """OpenTrackIO multicast: the address of the interface to join the group on."""
    source_number: int | None = None
    """OpenTrackIO: only accept samples with this ``sourceNumber``; None = any."""
    serial: SerialSettings | None = None
    """freed-serial and lens-serial: the port and its line settings."""
    start_stream: bool = False
    """freed-serial: send the D0 "start stream" command after opening the port."""
    stale_ms: float = DEFAULT_STALE_MS
    """No sample for this long: the source is stale (the last value is held)."""
    simulate: str = "freed"
    """simulator: which protocol it simulates over loopback (freed or opentrackio)."""
    encoding: str = "json"
    """simulator with simulate = "opentrackio": json or cbor."""
    lens_protocol: str = "cooke-i"
    """lens-serial: what the encoder speaks, "cooke-i" or "fiz-line" (``FIZ <focus> <iris> <zoom>``)."""
    plausibility: tuple[float, float] | None = None
    """freed and freed-serial: (max speed m/s, max turn deg/s) a pose may jump from the last; None = off."""


@dataclass(frozen=True, slots=True)
class OutputConfig:
    """One ``[[outputs]]`` table: where the solved camera (or frustum cues) go."""

    kind: str
    """opentrackio, osc or remote-control."""
    target: Endpoint
    cameras: tuple[str, ...] = ()
    """The cameras sent (opentrackio, osc); empty for remote-control."""
    encoding: str = "cbor"
    interface: str | None = None
    """Multicast: the address of the interface to send from."""
    ttl: int = 1
    bundle: bool = False
    prefix: str = "/stagectl"
    websocket: Endpoint | None = None
    """remote-control: the WebSocket address (Unreal's default port 30020); None: HTTP only."""
    preset: str = "stagectl"
    timeout_ms: float = 1000.0
    emulator: bool = False
    """remote-control: run stagectl's Remote Control emulator on loopback and send to it (demo, tests)."""
    index: int = 0
    mtu: int = 1500
    """opentrackio: the largest datagram (header included); larger samples go out in segments."""

    @property
    def name(self) -> str:
        """``opentrackio@127.0.0.1:55555``."""
        return f"{self.kind}@{'emulator' if self.emulator else self.target}"


@dataclass(frozen=True, slots=True)
class FixtureConfig:
    """One ``[[devices.fixtures]]`` table of an sACN device."""

    name: str
    profile: str
    universe: int
    address: int
    group: str


@dataclass(frozen=True, slots=True)
class OscFeatureConfig:
    """One ``[[devices.features]]`` table of a generic OSC device: one address per feature."""

    name: str
    address: str
    type: str = "f"
    """f (float32), i (int32) or bool (T/F)."""
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    fade: str = "linear"
    zone_value: str | None = None


@dataclass(frozen=True, slots=True)
class DeviceConfig:
    """One ``[[devices]]`` table: an LED processor, a DMX universe set or an OSC device."""

    kind: str
    """tessera, helios, osc or sacn."""
    name: str
    url: str | None = None
    """tessera / helios: the processor's base URL."""
    target: Endpoint | None = None
    """osc: where to send; sacn: a unicast receiver (None: multicast per universe)."""
    zone: str | None = None
    """The look zone the device follows (wall, ceiling, a fixture group)."""
    timeout_ms: float = 1000.0
    poll_ms: float = 2000.0
    emulator: bool = False
    """tessera / helios: start stagectl's emulator of the processor on loopback and talk to it."""
    write_verb: str = "PATCH"
    peak_nits: float = 1500.0
    priority: int = 100
    fps: float = 44.0
    interface: str | None = None
    fixtures: tuple[FixtureConfig, ...] = ()
    features: tuple[OscFeatureConfig, ...] = ()
    index: int = 0
    username: str | None = None
    """tessera / helios: the user name for the processor's HTTP authentication (None: none sent)."""
    password_env: str | None = None
    """tessera / helios: the environment variable holding the password (the stage file never holds it)."""
    password: str = field(default="", repr=False, compare=False)
    """The password read from ``password_env`` when the stage file was checked (never printed)."""


@dataclass(frozen=True, slots=True)
class ControlConfig:
    """The ``[control]`` table: the OSC control-in server for desks and Stream Decks."""

    listen: Endpoint
    allow: tuple[str, ...] = ()
    """Addresses or CIDR networks allowed to send; empty: loopback only."""
    passcode: str | None = None
    advertise: bool = True
    """Advertise the service over zeroconf (``_stagectl._udp``)."""
    reply_port: int | None = None
    """Replies go to the sender's IP at this port (desks that listen on a fixed port); None: the
    sender's own address and port."""


@dataclass(frozen=True, slots=True)
class LooksConfig:
    """The ``[looks]`` table: where looks and the cue list live, and the recall defaults."""

    dir: Path | None = None
    """None: the user's data folder (``~/.local/share/stagectl/looks`` on Linux)."""
    safe: str | None = None
    """The look "back to safe" recalls when there is no previous look."""
    fade_s: float = 3.0
    rate_hz: float = 60.0


@dataclass(frozen=True, slots=True)
class DiscoveryConfig:
    """The ``[discovery]`` table: zeroconf browsing for stage devices."""

    browse: bool = True
    """Browse the network for LED processors and other stagectl instances."""
    interfaces: tuple[str, ...] | None = None
    """IPv4 addresses of the interfaces mDNS runs on; None: automatic (loopback only when every
    address the stage uses is loopback, else every interface)."""


@dataclass(frozen=True, slots=True)
class TakesConfig:
    """The ``[takes]`` table: where takes are recorded and where their timecode comes from."""

    dir: Path | None = None
    """The takes folder (relative paths from the stage file); None: ``<data dir>/takes``."""
    timecode: str = "stage"
    """``stage`` (tc in/out from the stage clock) or a camera's name (its tracker's timecode)."""
    production: str = ""
    """The production name the slate starts with."""


@dataclass(frozen=True, slots=True)
class FacilityConfig:
    """The ``[facility]`` table: the shared PostgreSQL store every take is replicated to."""

    database: str
    """``postgresql://user@host:port/dbname``, never with a password (libpq reads PGPASSWORD / ~/.pgpass)."""
    stage_id: str
    """This stage's name in the facility (``stage-3``): the takes of every stage share one database."""
    connect_timeout_s: float = 3.0


@dataclass(frozen=True, slots=True)
class StageConfig:
    """A validated stage file."""

    name: str
    frame_rate: FrameRate
    drop_frame: bool
    cameras: tuple[CameraConfig, ...]
    sources: tuple[SourceConfig, ...]
    path: Path | None = None
    """The file it came from (the ``path`` given to :func:`parse_stage`), None for bare text."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Raw top-level tables of later versions (:data:`FUTURE_TABLES`), as tomllib returned them."""
    outputs: tuple[OutputConfig, ...] = ()
    devices: tuple[DeviceConfig, ...] = ()
    control: ControlConfig | None = None
    looks: LooksConfig = field(default_factory=LooksConfig)
    discovery: DiscoveryConfig = field(default_factory=DiscoveryConfig)
    """Zeroconf browsing (``[discovery]``)."""
    takes: TakesConfig = field(default_factory=TakesConfig)
    """Recording (``[takes]``)."""
    facility: FacilityConfig | None = None
    """Replication to the facility store (``[facility]``); None: the takes stay on this stage only."""
    web: WebConfig | None = None
    """The floor's remote (``[web]``); None: no web server."""

    def sources_for(self, camera: str) -> tuple[SourceConfig, ...]:
        """The sources feeding ``camera``, in file order."""
        return tuple(s for s in self.sources if s.camera == camera)


def source_name(src: SourceConfig) -> str:
    """A stable human name: ``A/freed@127.0.0.1:40000``, ``A/freed@127.0.0.1:40000#3``, ``A/simulator#1``,
    ``A/freed-serial@/dev/ttyUSB0``, ``A/opentrackio@239.135.1.1:55555``.

    The address is left out when the port is 0 (any free port); ``#n`` is the camera id (or
    OpenTrackIO source number) filter. It does not depend on the order of the file.
    """
    name = f"{src.camera}/{src.protocol}"
    if src.serial is not None:
        name += f"@{src.serial.port}"
    elif src.group is not None and src.listen is not None:
        name += f"@{src.group}:{src.listen.port}"
    elif src.listen is not None and src.listen.port != 0:
        name += f"@{src.listen}"
    if src.camera_id is not None:
        name += f"#{src.camera_id}"
    elif src.source_number is not None:
        name += f"#{src.source_number}"
    return name
