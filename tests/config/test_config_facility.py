"""``[facility]``: the database URL (never with a password: refused at its line, saying what to do
instead), the stage id, and nothing changes without the table."""

from __future__ import annotations

import pytest

from stagectl.config.facility import redacted, url_problem
from stagectl.config.load import ConfigErrors, parse_stage
from tests.support.stagefile import StageFile, toml_value

SECRET = "s3cr3t-Pw"


def _stage(**keys: object) -> StageFile:
    lines = "\n".join(f"{k} = {toml_value(v)}" for k, v in keys.items())
    return StageFile().source("A", "simulator").append(f"[facility]\n{lines}\n")


def test_without_facility_nothing_changes() -> None:
    assert StageFile().source("A", "simulator").config().facility is None


def test_a_facility_table_is_read() -> None:
    facility = _stage(database="postgresql://stagectl@db.facility:5432/stagectl", stage_id="stage-3",
                      connect_timeout_s=1.5).config().facility
    assert facility is not None
    assert (facility.database, facility.stage_id, facility.connect_timeout_s) == (
        "postgresql://stagectl@db.facility:5432/stagectl", "stage-3", 1.5)


@pytest.mark.parametrize("url", [
    f"postgresql://stagectl:{SECRET}@db.facility/stagectl",
    f"postgres://stagectl:{SECRET}@db.facility:5432/stagectl?sslmode=require",
    f"postgresql://stagectl@db.facility/stagectl?sslmode=require&password={SECRET}",
    f"host=db.facility dbname=stagectl password={SECRET}",
])
def test_a_password_in_the_url_is_refused_at_its_line(url: str) -> None:
    text = _stage(database=url, stage_id="stage-3").text
    with pytest.raises(ConfigErrors) as caught:
        parse_stage(text, path="stage.toml")
    error = caught.value.errors[0]
    message = str(error)
    line = next(n for n, t in enumerate(text.splitlines(), 1) if t.startswith("database"))
    assert error.line == line and error.key == "facility.database"
    assert f"stage.toml:{line}" in message
    assert "password" in message and "~/.pgpass" in message and "PGPASSWORD" in message
    assert SECRET not in message  # the password is never printed back


@pytest.mark.parametrize(("keys", "key", "words"), [
    ({"database": "postgresql://u@h/db"}, "facility.stage_id", "missing"),
    ({"stage_id": "stage-3"}, "facility.database", "missing"),
    ({"database": "mysql://u@h/db", "stage_id": "s"}, "facility.database", "postgresql://"),
    ({"database": "postgresql://u@h", "stage_id": "s"}, "facility.database", "names no database"),
    ({"database": "postgresql://u@h/db", "stage_id": "stage 3!"}, "facility.stage_id", "invalid stage id"),
    ({"database": "postgresql://u@h/db", "stage_id": "s", "connect_timeout_s": 0},
     "facility.connect_timeout_s", "0.5..60"),
    ({"database": "postgresql://u@h/db", "stage_id": "s", "url": "x"}, "facility.url", "unknown key"),
])
def test_bad_facility_tables_say_where_and_what(keys: dict[str, object], key: str, words: str) -> None:
    with pytest.raises(ConfigErrors) as caught:
        parse_stage(_stage(**keys).text, path="stage.toml")
    errors = [e for e in caught.value.errors if e.key == key]
    assert errors, [str(e) for e in caught.value.errors]
    assert words in str(errors[0])


def test_url_problem_and_redacted() -> None:
    assert url_problem("postgresql://stagectl@127.0.0.1:5432/stagectl") is None
    assert url_problem("postgresql:///stagectl?host=/run/postgresql") is None
    assert "password" in (url_problem(f"postgresql://u:{SECRET}@h/db") or "")
    assert SECRET not in redacted(f"postgresql://u:{SECRET}@h/db")
    assert SECRET not in redacted(f"postgresql://u@h/db?password={SECRET}")
    assert redacted("postgresql://u@h/db") == "postgresql://u@h/db"
