"""Checking ``[facility]``: the shared PostgreSQL store every take of the stage is replicated to.

``database`` is a libpq URL (``postgresql://user@host:port/dbname``) that never holds a password:
libpq reads it from ``PGPASSWORD``, ``~/.pgpass`` or ``PGPASSFILE``. :func:`url_problem` is the one
check of such a URL, shared with the command line's ``--store``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from stagectl.config.model import FacilityConfig
from stagectl.core.check import Checker

FACILITY_KEYS = ("database", "stage_id", "connect_timeout_s")
SCHEMES = ("postgresql", "postgres")
_STAGE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ALLOWED_URL = ('a PostgreSQL URL without a password, e.g. "postgresql://stagectl@db.facility:5432/stagectl" '
                "(libpq reads the password from PGPASSWORD, ~/.pgpass or PGPASSFILE)")
_ALLOWED_STAGE_ID = ('1 to 64 characters from A-Z a-z 0-9 _ . -, starting with a letter or digit, '
                     'e.g. "stage-3"')
PASSWORD_ADVICE = ("take the password out of the URL and give it to libpq instead: a line "
                   "host:port:dbname:user:password in ~/.pgpass (chmod 600; "
                   "%APPDATA%\\postgresql\\pgpass.conf on Windows), the file PGPASSFILE names, or the "
                   "PGPASSWORD environment variable")


def url_problem(url: str) -> str | None:
    """What is wrong with ``url`` as a facility database URL (None: nothing), never echoing a password."""
    text = url.strip()
    if not text:
        return "is empty"
    try:
        parts = urlsplit(text)
        port = parts.port  # ValueError when not a number
    except ValueError as exc:
        return f"is not a URL ({exc})"
    if "://" not in text:
        if re.search(r"(?i)\bpassword\s*=", text):
            return f"holds a password (a libpq key=value string): {PASSWORD_ADVICE}"
        return "is not a postgresql:// URL"
    if parts.scheme not in SCHEMES:
        return f"has the scheme {parts.scheme!r}, not postgresql://"
    if parts.password is not None:
        return f"holds a password (postgresql://user:PASSWORD@host): {PASSWORD_ADVICE}"
    if any(key.lower() == "password" for key in parse_qs(parts.query, keep_blank_values=True)):
        return f"holds a password (?password=...): {PASSWORD_ADVICE}"
    if port is not None and not 1 <= port <= 65535:
        return f"has port {port}, outside 1..65535"
    if not parts.path.strip("/"):
        return "names no database (postgresql://user@host:port/DBNAME)"
    return None


def redacted(url: str) -> str:
    """``url`` safe to print: any password replaced by ``***`` (URLs the checker refused still show)."""
    parts = urlsplit(url)
    if parts.password is None:
        return re.sub(r"(?i)(password=)[^&\s]*", r"\1***", url)
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return re.sub(r"(?i)(password=)[^&\s]*", r"\1***", parts._replace(netloc=netloc).geturl())


class FacilityTableChecker(Checker):
    """The ``[facility]`` part of the stage-file checker (mixed into config._Checker)."""

    def facility(self, data: Mapping[str, Any]) -> FacilityConfig | None:
        """``[facility]`` (None when absent): ``database`` and ``stage_id`` are required together."""
        table = self.section(data, "facility", f"[facility] with {', '.join(FACILITY_KEYS)}")
        if table is None:
            return None
        before = len(self.errors)
        self.unknown_keys(table, ("facility",), "[facility]", FACILITY_KEYS)
        url = self.typed(table, ("facility", "database"), (str,), _ALLOWED_URL, required=True)
        if url is not None:
            problem = url_problem(url)
            if problem is not None:
                self.error(("facility", "database"), f"the database URL {problem}; allowed: {_ALLOWED_URL}")
        stage_id = self.typed(table, ("facility", "stage_id"), (str,), _ALLOWED_STAGE_ID, required=True)
        if stage_id is not None and not _STAGE_ID.match(stage_id):
            self.error(("facility", "stage_id"),
                       f"invalid stage id {stage_id!r}; allowed: {_ALLOWED_STAGE_ID}")
        timeout = self.ranged(table, ("facility", "connect_timeout_s"), 0.5, 60, 3.0,
                              "a number of seconds 0.5..60 (how long a connection attempt may take)")
        if len(self.errors) > before or url is None or stage_id is None:
            return None
        return FacilityConfig(url.strip(), stage_id, timeout)
