"""The project's emulators (Tessera, HELIOS, OSC device, Unreal Remote Control) on 127.0.0.1, any free port.

Two ways to have one running:

* ``async with serving(TesseraEmulator()) as emu:`` on the test's own loop, beside the device
  under test (the device tests run both on one fresh loop);
* the fixtures ``tessera_emulator``, ``helios_emulator``, ``osc_device_emulator`` and
  ``rc_emulator`` (or ``emulator_host.start(...)`` for one built with other arguments): served from
  an I/O loop thread of their own for as long as the test runs, for code under test that runs
  elsewhere (a running stage, a window, a subprocess). Change such an emulator's state through
  ``emulator_host.call(...)`` (on its loop).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import TypeVar

import pytest

from led_wall.emulators.helios_emulator import HeliosEmulator
from led_wall.emulators.osc_device_emulator import OscDeviceEmulator
from led_wall.emulators.served import ServedEmulator
from led_wall.emulators.tessera_emulator import TesseraEmulator
from stagectl.core.runtime import Runtime
from stagectl.unreal.rc_emulator import RemoteControlEmulator

Emulator = ServedEmulator | OscDeviceEmulator | RemoteControlEmulator
E = TypeVar("E", bound=Emulator)
T = TypeVar("T")

START_TIMEOUT_S = 10.0
"""Binding a loopback socket takes milliseconds; the bound is for a loaded machine."""


async def async_start_emulator(emulator: Emulator) -> None:
    """Bind and serve (I/O loop): whichever start the emulator has."""
    if isinstance(emulator, ServedEmulator):
        await emulator.async_start()
    else:
        await emulator.async_start()


async def async_stop_emulator(emulator: Emulator) -> None:
    """Close the emulator's sockets (I/O loop)."""
    if isinstance(emulator, ServedEmulator):
        await emulator.async_stop()
    else:
        await emulator.async_stop()


@asynccontextmanager
async def serving(emulator: E) -> AsyncIterator[E]:
    """``emulator`` serving on the running loop for the ``async with`` block, stopped after it."""
    await async_start_emulator(emulator)
    try:
        yield emulator
    finally:
        await async_stop_emulator(emulator)


class EmulatorHost:
    """Emulators served from one I/O loop thread of their own; every one is stopped by :meth:`close`."""

    def __init__(self) -> None:
        self.runtime = Runtime("test-emulators")
        self.runtime.start()
        self._started: list[Emulator] = []

    def start(self, emulator: E) -> E:
        """Start ``emulator`` on the host's loop; returns it (bound: ``port``/``url``/``http_port`` set)."""
        self.runtime.call_sync(async_start_emulator(emulator), START_TIMEOUT_S)
        self._started.append(emulator)
        return emulator

    def stop(self, emulator: Emulator) -> None:
        """Stop one emulator now (a processor switched off)."""
        self._started.remove(emulator)
        self.runtime.call_sync(async_stop_emulator(emulator), START_TIMEOUT_S)

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn()`` on the emulators' loop and return its result (to change an emulator's state)."""

        async def on_loop() -> T:
            return fn()

        return self.runtime.call_sync(on_loop(), START_TIMEOUT_S)

    def close(self) -> None:
        """Stop every emulator still serving, then the loop thread."""
        try:
            for emulator in reversed(self._started):
                self.runtime.call_sync(async_stop_emulator(emulator), START_TIMEOUT_S)
            self._started.clear()
        finally:
            self.runtime.stop()


@pytest.fixture
def emulator_host() -> Iterator[EmulatorHost]:
    """An :class:`EmulatorHost` for the test; its emulators are stopped afterwards."""
    host = EmulatorHost()
    yield host
    host.close()


@pytest.fixture
def tessera_emulator(emulator_host: EmulatorHost) -> TesseraEmulator:
    """A Tessera emulator with its seed state serving on 127.0.0.1 (``url`` is the device's url)."""
    return emulator_host.start(TesseraEmulator())


@pytest.fixture
def helios_emulator(emulator_host: EmulatorHost) -> HeliosEmulator:
    """A HELIOS emulator with its seed state serving on 127.0.0.1 (``url`` is the device's url)."""
    return emulator_host.start(HeliosEmulator())


@pytest.fixture
def osc_device_emulator(emulator_host: EmulatorHost) -> OscDeviceEmulator:
    """An OSC receiver on 127.0.0.1 (``port``) keeping what arrives."""
    return emulator_host.start(OscDeviceEmulator())


@pytest.fixture
def rc_emulator(emulator_host: EmulatorHost) -> RemoteControlEmulator:
    """Unreal's Remote Control API on 127.0.0.1 (``http_port``, ``ws_port``) with the default presets."""
    return emulator_host.start(RemoteControlEmulator())

