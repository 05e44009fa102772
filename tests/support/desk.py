"""A lighting desk on loopback: sends OSC to the stage's control-in and reads the reply to each message."""

from __future__ import annotations

import socket
from types import TracebackType

from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

REPLY_TIMEOUT_S = 10.0


class Desk:
    """One UDP socket on 127.0.0.1; :meth:`send` returns the stage's ``/stagectl/reply`` to that message
    (state messages in between are skipped). Use as a context manager."""

    def __init__(self, port: int, timeout_s: float = REPLY_TIMEOUT_S) -> None:
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(timeout_s)

    def send(self, address: str, *args: float | str) -> list[object]:
        """Send one message; the reply's arguments (``[address, "ok"|"error", text]``)."""
        builder = OscMessageBuilder(address)
        for arg in args:
            builder.add_arg(arg)
        self.sock.sendto(builder.build().dgram, ("127.0.0.1", self.port))
        while True:
            message = OscMessage(self.sock.recv(65536))
            if message.address == "/stagectl/reply" and message.params[:1] == [address]:
                return list(message.params)

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()

    def __enter__(self) -> Desk:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def send_osc(port: int, address: str, *args: float | str) -> list[object]:
    """One message from a fresh desk; its reply."""
    with Desk(port) as desk:
        return desk.send(address, *args)
