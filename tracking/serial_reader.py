"""Sources on a serial line: one reader thread per port, each read's results handed to the I/O loop.

pyserial is blocking, so a :class:`SerialSource` owns a daemon thread that opens the port,
reads, frames the bytes with the subclass's parser and hands each read's items to the I/O loop
in ONE ``call_soon_threadsafe``. Everything that changes health, the camera or the event queue
runs on the loop thread (StreamHealth has a single writer); the thread only reads, frames,
writes the device's start commands and sleeps. When the port cannot be opened or goes away (a
USB adapter unplugged), the source is marked down with the reason and retries with capped
exponential backoff, warning once per outage and logging later attempts at debug level;
``health.detail`` says what the port is doing ("reconnecting in 2 s (attempt 3)").

A subclass supplies the protocol through four hooks:

* :meth:`SerialSource.make_parser` (reader thread): a fresh incremental parser per open;
* :meth:`SerialSource.on_open` (reader thread): write start commands after every (re)open;
* :meth:`SerialSource.on_items` (reader thread): answer what was just read (a device that
  restarted and wants its start commands again);
* :meth:`SerialSource.handle_items` (I/O loop): count, check and deliver the items.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import serial

from stagectl.core.camera import CameraInput
from stagectl.core.clock import StageClock
from stagectl.core.events import EventQueue, Level
from stagectl.core.links import Endpoint, SerialSettings
from stagectl.core.logutil import swallowed
from tracking.source import TrackingSource

PARITIES = {"none": serial.PARITY_NONE, "even": serial.PARITY_EVEN, "odd": serial.PARITY_ODD,
            "mark": serial.PARITY_MARK, "space": serial.PARITY_SPACE}
STOP_BITS = {1.0: serial.STOPBITS_ONE, 1.5: serial.STOPBITS_ONE_POINT_FIVE, 2.0: serial.STOPBITS_TWO}
#: A write that cannot finish in this time means the device is wedged (treated like a loss).
WRITE_TIMEOUT_S = 0.5
#: How long async_stop waits for the reader thread before giving up on it.
JOIN_TIMEOUT_S = 0.5

ItemT = TypeVar("ItemT")


class StreamParser(Protocol[ItemT]):
    """An incremental parser over a byte stream (one per open port, used by its reader only)."""

    def feed(self, data: bytes) -> list[ItemT]:
        """Parse ``data`` (appended to what came before); never raises."""

    def flush(self) -> list[ItemT]:
        """The line went quiet: report what is pending that should not wait any longer."""


def line_settings(settings: SerialSettings) -> str:
    """The usual short form of the line settings, e.g. ``38400 8O1``."""
    return f"{settings.baud} {settings.data_bits}{settings.parity[:1].upper()}{settings.stop_bits:g}"


def backoff_s(attempt: int, minimum_s: float, maximum_s: float) -> float:
    """Seconds to wait before reconnect ``attempt`` (1, 2, ...): doubling from ``minimum_s``, capped."""
    return min(maximum_s, minimum_s * 2.0 ** min(max(attempt - 1, 0), 60))


def failure_reason(exc: BaseException) -> str:
    """The OS's words for a failure (pyserial wraps OSError and repeats the port name)."""
    inner = exc.__context__
    if isinstance(inner, OSError) and inner.strerror:
        return inner.strerror
    if isinstance(exc, OSError) and exc.strerror and not isinstance(exc, serial.SerialException):
        return exc.strerror
    return str(exc) or type(exc).__name__


class SerialSource(TrackingSource, Generic[ItemT]):
    """A source reading ``settings.port`` on its own thread; subclasses implement the hooks.

    ``source_options`` go to the next ``__init__`` in the MRO (e.g. FreeDSource's ``camera_id``
    and ``preset``), so a protocol base and this transport base combine cooperatively.

    Attributes:
        settings: the port and its line settings.
        reconnect_min_s / reconnect_max_s: the first and the longest wait between open attempts.
        read_timeout_s: how long one read waits for a byte (the reader checks for stop between).
    """

    unit = "serial data"
    logger: ClassVar[logging.Logger] = logging.getLogger("stagectl.tracking")
    """Where the reader logs (subclasses name their own subsystem)."""

    def __init__(self, name: str, camera: CameraInput, clock: StageClock, events: EventQueue,
                 settings: SerialSettings, stale_after_s: float = 0.5, *, reconnect_min_s: float = 0.5,
                 reconnect_max_s: float = 10.0, read_timeout_s: float = 0.05, **source_options: Any) -> None:
        super().__init__(name, camera, clock, events, stale_after_s=stale_after_s, **source_options)
        if settings.parity not in PARITIES or settings.stop_bits not in STOP_BITS:
            raise ValueError(f"{name}: unsupported serial settings {line_settings(settings)}")
        self.settings = settings
        self.reconnect_min_s = reconnect_min_s
        self.reconnect_max_s = max(reconnect_max_s, reconnect_min_s)
        self.read_timeout_s = read_timeout_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._port_lock = threading.Lock()  # guards _port between the reader and async_stop
        self._port: Any = None  # serial.Serial while open (owned by the reader thread)
        self._opened_before = False

    # --- hooks -----------------------------------------------------------------------------

    @abc.abstractmethod
    def make_parser(self) -> StreamParser[ItemT]:
        """A fresh parser for the bytes of one open port (reader thread)."""

    def on_open(self, port: Any) -> None:
        """Write what the device needs after every (re)open (reader thread); raising fails the open."""

    def on_items(self, port: Any, items: list[ItemT]) -> None:
        """Answer what one read produced (reader thread); raising counts as losing the port."""

    @abc.abstractmethod
    def handle_items(self, items: list[ItemT], arrival_ns: int) -> None:
        """Count, check and deliver one read's items, in stream order (I/O loop thread).

        Should not raise; if it does, the error is logged and counted as reason ``internal``.
        """

    def wait_or_stop(self, seconds: float) -> bool:
        """Sleep up to ``seconds`` in a hook on the reader thread; True when the source is stopping."""
        return self._stop.wait(seconds)

    # --- TrackingSource --------------------------------------------------------------------

    @property
    def bound(self) -> Endpoint | None:
        """Serial sources bind no address."""
        return None

    @property
    def configured_address(self) -> str:
        """The serial device from the stage file."""
        return self.settings.port

    async def async_start(self) -> None:
        """Start the reader thread and return at once; it opens the port and reports back."""
        if self._thread is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._stop.clear()
        self.health.detail = f"opening {self.settings.port}"
        self._thread = threading.Thread(target=self._run, name=f"{self.protocol} {self.settings.port}",
                                        daemon=True)
        self._thread.start()

    async def async_stop(self) -> None:
        """Stop the reader and close the port; returns within about JOIN_TIMEOUT_S even if wedged."""
        thread, self._thread = self._thread, None
        self._stop.set()
        if thread is None:
            return
        with self._port_lock, swallowed(self.logger, "waking a serial read to stop it"):
            if self._port is not None:
                self._port.cancel_read()  # wakes a read blocked in select()
        await asyncio.to_thread(thread.join, JOIN_TIMEOUT_S)
        if thread.is_alive():
            self.logger.warning("%s: reader thread did not stop within %.1f s; closing the port under it",
                                self.name, JOIN_TIMEOUT_S)
            with self._port_lock:
                self._close_port()

    # --- reader thread ---------------------------------------------------------------------

    def _run(self) -> None:
        port_name = self.settings.port
        attempt = 0  # the reconnect attempt about to be made in this outage (0 while up)
        while not self._stop.is_set():
            try:
                port = self._open()
            except Exception as exc:  # SerialException, OSError, ValueError: all mean "not now"
                attempt += 1
                self._report_outage(f"cannot open {port_name}: {failure_reason(exc)}", attempt)
                if self._stop.wait(backoff_s(attempt, self.reconnect_min_s, self.reconnect_max_s)):
                    break
                continue
            self._to_loop(self._on_opened, attempt)
            attempt = 0
            error = self._pump(port)
            with self._port_lock:
                self._close_port()
            if error is None or self._stop.is_set():
                break
            attempt = 1
            self._report_outage(f"lost {port_name}: {error}", attempt)
            if self._stop.wait(backoff_s(attempt, self.reconnect_min_s, self.reconnect_max_s)):
                break

    def _open(self) -> Any:
        s = self.settings
        port = serial.Serial(s.port, baudrate=s.baud, parity=PARITIES[s.parity], bytesize=s.data_bits,
                             stopbits=STOP_BITS[s.stop_bits], timeout=self.read_timeout_s,
                             write_timeout=WRITE_TIMEOUT_S)
        with self._port_lock:
            self._port = port
        try:
            self.on_open(port)
        except Exception:
            with self._port_lock:
                self._close_port()
            raise
        return port

    def _pump(self, port: Any) -> str | None:
        """Read until stopped (None) or the port fails (the reason)."""
        parser = self.make_parser()
        while not self._stop.is_set():
            try:
                data = port.read(port.in_waiting or 1)
            except Exception as exc:  # SerialException/OSError when the device goes away
                return self._lost(exc, parser)
            arrival_ns = time.monotonic_ns()
            items = parser.feed(data) if data else parser.flush()
            self._hand_over(items, arrival_ns, data)
            if items:
                try:
                    self.on_items(port, items)
                except Exception as exc:  # a failed write: the same as a failed read
                    return self._lost(exc, parser)
        return None

    def _lost(self, exc: Exception, parser: StreamParser[ItemT]) -> str | None:
        """The port failed under ``exc``: hand over what the parser holds; the reason (None if stopping)."""
        if self._stop.is_set():
            return None
        if not isinstance(exc, (serial.SerialException, OSError)):
            self.logger.exception("%s: unexpected error on %s", self.name, self.settings.port)
        self._hand_over(parser.flush(), time.monotonic_ns())
        return failure_reason(exc)

    def _hand_over(self, items: list[ItemT], arrival_ns: int, data: bytes = b"") -> None:
        if items or (data and self.capture is not None):  # a take records every read, complete or not
            self._to_loop(self._on_read, items, arrival_ns, data)

    def _report_outage(self, message: str, attempt: int) -> None:
        delay = backoff_s(attempt, self.reconnect_min_s, self.reconnect_max_s)
        self._to_loop(self._on_outage, message, attempt, delay)

    def _close_port(self) -> None:
        """Close and forget the port (caller holds _port_lock)."""
        port, self._port = self._port, None
        if port is not None:
            with swallowed(self.logger, "closing a serial port"):
                port.close()

    def _to_loop(self, callback: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop closed under us: nobody to tell
            loop.call_soon_threadsafe(callback, *args)

    # --- I/O loop thread -------------------------------------------------------------------

    def _on_opened(self, attempts: int) -> None:
        if self._stop.is_set():
            return
        self.health.failed = None
        self.health.detail = None
        after = f" after {attempts} attempt{'s' if attempts != 1 else ''}"
        if not self._opened_before:
            message = f"opened {self.settings.port} at {line_settings(self.settings)}"
            if attempts:
                message += after
        else:
            message = f"reconnected {self.settings.port}{after}"
        self._opened_before = True
        self.events.post(Level.INFO, self.name, "state", message)

    def _on_outage(self, message: str, attempt: int, delay_s: float) -> None:
        if self._stop.is_set():
            return
        self.health.fail(message)
        self.health.detail = f"reconnecting in {delay_s:g} s (attempt {attempt})"
        if attempt == 1:  # warn once per outage, then debug
            self.events.post(Level.WARNING, self.name, "state", f"{message}; {self.health.detail}")
        else:
            self.logger.debug("%s: %s; %s", self.name, message, self.health.detail)

    def _on_read(self, items: list[ItemT], arrival_ns: int, data: bytes = b"") -> None:
        if self._stop.is_set():
            return
        if data and self.capture is not None:
            self.captured(data, self.settings.port, arrival_ns)
        if not items:
            return
        try:
            self.handle_items(items, arrival_ns)
        except Exception as exc:  # the last line of defence: nothing raises into the loop
            self.logger.exception("%s: unexpected error handling %s", self.name, self.unit)
            self.reject("internal", f"{type(exc).__name__}: {exc}")
