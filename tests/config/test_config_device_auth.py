"""``username`` / ``password_env`` of ``[[devices]]`` (tessera, helios): the password comes from the
environment, never from the stage file; every mistake is located."""

from __future__ import annotations

import pytest

from stagectl.config.load import ConfigErrors, parse_stage
from tests.support.stagefile import StageFile

ENV = "STAGECTL_TEST_PROCESSOR_PASSWORD"


def _errors(stage: StageFile) -> list[str]:
    with pytest.raises(ConfigErrors) as info:
        parse_stage(stage.text, path="stage.toml")
    return [str(e) for e in info.value.errors]


def _stage(kind: str = "helios", **keys: object) -> StageFile:
    return StageFile("S").source("A").device(kind, "wall", url="http://127.0.0.1:8081", **keys)


def _helios(keys: dict[str, object]) -> StageFile:
    return StageFile("S").source("A").device("helios", "wall", url="http://127.0.0.1:8081", **keys)


@pytest.mark.parametrize("kind", ["helios", "tessera"])
def test_credentials_from_the_environment(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "pa ss")
    device = _stage(kind, username="operator", password_env=ENV).config().devices[0]
    assert (device.username, device.password_env, device.password) == ("operator", ENV, "pa ss")
    assert "pa ss" not in repr(device)


def test_without_credentials_nothing_is_sent() -> None:
    device = _stage().config().devices[0]
    assert (device.username, device.password_env, device.password) == (None, None, "")


def test_a_password_in_the_stage_file_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "x")
    errors = _errors(_stage(username="operator", password="hunter2"))
    assert len(errors) == 1, errors
    assert "devices[0].password" in errors[0] and "use password_env" in errors[0]
    assert "hunter2" not in errors[0] and "stage.toml" in errors[0]


def test_a_missing_environment_variable_is_located(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    stage = _stage(username="operator", password_env=ENV)
    errors = _errors(stage)
    line = stage.text.splitlines().index(f'password_env = "{ENV}"') + 1
    assert len(errors) == 1, errors
    assert f"stage.toml:{line}" in errors[0] and "devices[0].password_env" in errors[0]
    assert f"environment variable {ENV} is not set" in errors[0]


@pytest.mark.parametrize(("keys", "where", "says"), [
    ({"username": "operator"}, "devices[0].password_env", "username is set"),
    ({"password_env": ENV}, "devices[0].username", "password_env is set"),
    ({"username": "", "password_env": ENV}, "devices[0].username", "is empty"),
    ({"username": "operator", "password_env": "NOT-A NAME"}, "devices[0].password_env",
     "not an environment variable name"),
])
def test_half_or_bad_credentials_are_located(keys: dict[str, object], where: str, says: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "x")
    errors = _errors(_helios(keys))
    assert any(where in e and says in e for e in errors), errors


def test_credentials_are_for_http_processors_only() -> None:
    stage = StageFile("S").source("A").device("osc", "house", target="127.0.0.1:9000", username="x",
                                               features=[{"name": "level", "address": "/l"}])
    errors = _errors(stage)
    assert any("devices[0].username" in e for e in errors), errors
