"""liblo's ``oscdump``: an OSC decoder independent of stagectl's encoder and of python-osc, in a child
process (``apt-get install liblo-tools``; tests using it are skipped without it)."""

from __future__ import annotations

import queue
import shutil
import socket
import subprocess
import threading

from stagectl.core.osc import encode_message
from tests.support.network import LOCAL, free_udp_port
from tests.support.polling import wait_until

OSCDUMP = shutil.which("oscdump")
"""The ``oscdump`` executable, None when it is not installed."""

LINE_TIMEOUT_S = 10.0
"""How long :meth:`OscDump.take` waits for a line (only a failing test waits this long)."""


class OscDump:
    """``oscdump -L PORT`` on a free loopback port, listening when the constructor returns; the lines
    it prints arrive on :attr:`lines`."""

    def __init__(self) -> None:
        assert OSCDUMP is not None
        self.port = free_udp_port()
        self.proc = subprocess.Popen([OSCDUMP, "-L", str(self.port)], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:

            def heard() -> bool:
                probe.sendto(encode_message("/probe"), (LOCAL, self.port))
                try:
                    return "/probe" in self.lines.get(timeout=0.1)
                except queue.Empty:
                    return False

            wait_until(heard, what="oscdump to print a probe sent to it")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def take(self, count: int) -> list[list[str]]:
        """The next ``count`` lines, each split into (timetag, address, types, values...); probes sent
        while it started are left out."""
        got: list[list[str]] = []
        while len(got) < count:
            line = self.lines.get(timeout=LINE_TIMEOUT_S)
            if "/probe" not in line:
                got.append(line.split())
        return got

    def close(self) -> None:
        """Stop the child process."""
        self.proc.terminate()
        self.proc.wait(5)
        self._reader.join(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
