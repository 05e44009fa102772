"""``[web]``: the floor's remote, a small web app the stage serves to phones and tablets.

``listen`` is the one address the server binds (``"10.0.0.2:8080"``; none: no web server). A
passcode is required: ``passcode`` in the stage file, else the environment variable
:data:`PASSCODE_ENV`; a ``[web]`` table with ``listen`` and neither is refused, naming the line.
``certificate`` and ``key`` (PEM files, relative to the stage file) turn on HTTPS.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stagectl.config.passcodes import MIN_PASSCODE, passcode_weakness
from stagectl.core.check import Checker
from stagectl.core.links import Endpoint

WEB_KEYS = ("listen", "passcode", "certificate", "key")
#: The environment variable a passcode is read from when the stage file has none.
PASSCODE_ENV = "STAGECTL_WEB_PASSCODE"
_ALLOWED_LISTEN = ('"host:port" with the IPv4 address of the stage network\'s interface '
                   '(e.g. "10.0.0.2:8080"), "127.0.0.1:8080" for this machine only, "0.0.0.0:8080" for every '
                   'interface, or "[IPv6]:port"')
_ALLOWED_PASSCODE = (f"a passcode of at least {MIN_PASSCODE} characters (not one character repeated, not a "
                     f"run like 12345678), e.g. three random words; or leave it out and set {PASSCODE_ENV}")


@dataclass(frozen=True, slots=True)
class WebConfig:
    """The ``[web]`` table: where the remote listens, its passcode and its HTTPS files."""

    listen: Endpoint
    passcode: str = field(repr=False, compare=False)
    """From the stage file or :data:`PASSCODE_ENV` (never printed)."""
    passcode_from: str = "stage file"
    """Where the passcode came from: ``stage file`` or the environment variable's name."""
    certificate: Path | None = None
    key: Path | None = None

    @property
    def https(self) -> bool:
        """True when a certificate and key are given."""
        return self.certificate is not None


class WebTableChecker(Checker):
    """The ``[web]`` part of the stage-file checker (mixed into config._Checker)."""

    def web(self, data: Mapping[str, Any], base_dir: Path,
            environ: Mapping[str, str] | None = None) -> WebConfig | None:
        """``[web]`` (None when absent, without ``listen``, or wrong)."""
        table = self.section(data, "web", f"[web] with {', '.join(WEB_KEYS)}")
        if table is None:
            return None
        before = len(self.errors)
        self.unknown_keys(table, ("web",), "[web]", WEB_KEYS)
        text = self.typed(table, ("web", "listen"), (str,), _ALLOWED_LISTEN)
        listen = None
        if text is not None:
            try:
                listen = Endpoint.parse(text)
            except ValueError as exc:
                self.error(("web", "listen"), f"invalid address {text!r}: {exc}; allowed: {_ALLOWED_LISTEN}")
        passcode = self.typed(table, ("web", "passcode"), (str,), _ALLOWED_PASSCODE)
        source = "stage file"
        env = os.environ if environ is None else environ
        if passcode is None and env.get(PASSCODE_ENV):
            passcode, source = env[PASSCODE_ENV], PASSCODE_ENV
        if passcode is None and listen is not None:
            self.error(("web", "listen"), f"[web] listens on {listen} but has no passcode: nothing on the "
                       f"stage network may be readable without one; allowed: passcode = \"...\" in [web], or "
                       f"the environment variable {PASSCODE_ENV} set when the stage starts")
        elif passcode is not None and (weakness := passcode_weakness(passcode)) is not None:
            where = ("web", "passcode") if source == "stage file" else ("web",)
            self.error(where, f"the passcode ({source}) is too weak: {weakness}; "
                              f"allowed: {_ALLOWED_PASSCODE}")
        certificate = self._pem(table, "certificate", base_dir)
        key = self._pem(table, "key", base_dir)
        if (certificate is None) != (key is None):
            self.error(("web", "certificate" if certificate is None else "key"),
                       "HTTPS needs both certificate and key; allowed: both PEM files, or neither (HTTP)")
        if len(self.errors) > before or listen is None or passcode is None:
            return None
        return WebConfig(listen, passcode, source, certificate, key)

    def _pem(self, table: Mapping[str, Any], name: str, base_dir: Path) -> Path | None:
        text = self.typed(table, ("web", name), (str,), "a PEM file path, relative to the stage file")
        return None if text is None else base_dir / text
