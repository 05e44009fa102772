"""The facility tests run against a real PostgreSQL server started by the session."""

from tests.support.postgres import facility_url, postgres_server  # noqa: F401  (fixtures, found by name)
