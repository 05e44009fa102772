"""The receiver of bench/web_load.py: bench/_receivers.py's stagectl receiver with the web remote on.

The same stage, sinks and protocol as ``_receivers.py --kind stagectl`` (see there), with a ``[web]``
table added to its stage file (loopback, any free port). Before ``port N`` it prints ``web URL``: where
the clients (bench/_web_clients.py) log in and open their WebSockets.

    python bench/_web_receiver.py --kind stagectl --cameras N --out FILE
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _receivers

#: The remote's passcode in the benchmark (loopback only, a throwaway stage).
PASSCODE = "bench-web-load-7"
_WEB = f'\n[web]\nlisten = "127.0.0.1:0"\npasscode = "{PASSCODE}"\n'


def main() -> int:
    """Run ``_receivers.main`` on a stage with ``[web]``, saying the remote's URL first."""
    plain_toml = _receivers.stage_toml
    plain_init = _receivers.StagectlReceiver.__init__

    def stage_toml(*args: Any, **kwargs: Any) -> str:
        return plain_toml(*args, **kwargs) + _WEB

    def init(self: _receivers.StagectlReceiver, *args: Any, **kwargs: Any) -> None:
        plain_init(self, *args, **kwargs)
        web = self.runner.stage.web
        if web is None or not web.running:
            raise SystemExit(f"web_load: the remote did not start: {self.runner.stage.status()['web']}")
        print(f"web {web.urls[0]}", flush=True)

    _receivers.stage_toml = stage_toml
    _receivers.StagectlReceiver.__init__ = init  # type: ignore[method-assign]
    return _receivers.main()


if __name__ == "__main__":
    raise SystemExit(main())
