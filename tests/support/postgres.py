"""A real PostgreSQL server for the tests, started and stopped by the test session.

``postgres_server`` (session scope) runs Debian's PostgreSQL binaries from a fresh ``initdb`` in a
temporary folder: trust authentication, listening on 127.0.0.1 at a free port and on a unix socket
in that folder, ``fsync=off`` (a test database need not survive a power cut). PostgreSQL refuses to
run as root, so when the tests run as root the server runs as the ``postgres`` user, from a folder
under the system temp dir that user can reach (pytest's own temp dirs are private to root). The
server is stopped and its folder removed at the end of the session (and at interpreter exit, should
the session end abnormally). Fault tests stop and start it mid-test (:meth:`PostgresServer.down`).

``facility_url`` gives each test a fresh, empty database on that server (dropped afterwards).
Register both in a conftest with ``from tests.support.postgres import facility_url, postgres_server``.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support.network import LOCAL, free_tcp_port

START_TIMEOUT_S = 60
"""pg_ctl's wait for the server to accept connections (seconds: a loaded CI machine)."""


def _bin_dir() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if versions:
        return Path(versions[-1]).parent
    raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in "
                       "/usr/lib/postgresql/*/bin: install Debian's postgresql package")


class PostgresServer:
    """One PostgreSQL server in ``root`` on 127.0.0.1:``port``; ``url`` reaches its ``postgres`` database."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.socket_dir = root / "sock"
        self.log = root / "server.log"
        self.port = free_tcp_port()
        self.bin = _bin_dir()
        self.running = False
        self._user: str | None = "postgres" if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        """The ``postgres`` database as superuser ``postgres`` over TCP on loopback."""
        return self.url_for("postgres")

    def url_for(self, dbname: str) -> str:
        """A database of this server by name."""
        return f"postgresql://postgres@{LOCAL}:{self.port}/{dbname}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        extra: dict[str, Any] = {}
        if self._user is not None:
            entry = pwd.getpwnam(self._user)
            extra = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        env = {**os.environ, "LC_ALL": "C", "TZ": "UTC"}
        done = subprocess.run([str(self.bin / args[0]), *args[1:]], capture_output=True, text=True, env=env,
                              cwd=self.root, timeout=START_TIMEOUT_S + 30, check=False, **extra)
        if done.returncode != 0:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr.strip()}\n{tail}")
        return done

    def init(self) -> None:
        """initdb into ``root/data`` (trust authentication, superuser ``postgres``)."""
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if self._user is not None:
            entry = pwd.getpwnam(self._user)
            for path in (self.root, self.socket_dir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (f"-p {self.port} -k {self.socket_dir} -c listen_addresses={LOCAL} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w",
                  "-t", str(START_TIMEOUT_S), "start")
        self.running = True

    def stop(self) -> None:
        """Stop the server now (``fast``: open connections are cut, as a crashed server would)."""
        if self.running:
            self.running = False
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    @contextlib.contextmanager
    def down(self) -> Iterator[None]:
        """The server stopped for the block, started again after it (even when the block fails)."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def create_database(self) -> str:
        """A fresh, empty database; its URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"'.encode())
        return self.url_for(name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by :meth:`create_database` (its connections are cut)."""
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())

    def close(self) -> None:
        """Stop the server (when running) and remove its folder."""
        with contextlib.suppress(RuntimeError, subprocess.SubprocessError, OSError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """A PostgreSQL server running for the whole session (see the module's docstring)."""
    if os.geteuid() == 0:  # the postgres user cannot reach pytest's root-only temp dirs
        root = Path(tempfile.mkdtemp(prefix="stagectl-pg-"))
    else:
        root = tmp_path_factory.mktemp("postgres")
    server = PostgresServer(root)
    atexit.register(server.close)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.close()
        atexit.unregister(server.close)


@pytest.fixture
def facility_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database on the session's server (started again if a test left it stopped)."""
    if not postgres_server.running:
        postgres_server.start()
    url = postgres_server.create_database()
    try:
        yield url
    finally:
        if not postgres_server.running:
            postgres_server.start()
        postgres_server.drop_database(url)
