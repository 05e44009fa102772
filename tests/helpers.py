"""Free loopback ports and the ``stagectl`` command, under the names tests have long imported from here
(they live in :mod:`tests.support.network` and :mod:`tests.support.cli`)."""

from __future__ import annotations

from tests.support.cli import REPO, stagectl, stagectl_env, stagectl_popen
from tests.support.network import free_udp_port

__all__ = ["REPO", "free_udp_port", "stagectl", "stagectl_env", "stagectl_popen"]
