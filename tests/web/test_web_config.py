"""``[web]`` in the stage file: listen, the passcode (or its environment variable), HTTPS files."""

from __future__ import annotations

from pathlib import Path

import pytest

from stagectl.config.load import ConfigErrors, default_stage, parse_stage
from stagectl.config.web import PASSCODE_ENV
from stagectl.core.links import Endpoint
from tests.support.stagefile import StageFile


def with_web(**web: object) -> str:
    stage = StageFile("Web").source("A")
    stage.tables["web"] = dict(web)
    return stage.text


def errors(text: str) -> str:
    with pytest.raises(ConfigErrors) as caught:
        parse_stage(text, path="stage.toml")
    return str(caught.value)


def test_no_web_table_means_no_web_server() -> None:
    assert parse_stage(StageFile("Web").source("A").text).web is None


def test_listen_and_passcode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSCODE_ENV, raising=False)
    config = parse_stage(with_web(listen="10.0.0.2:8080", passcode="orchid-lantern-42")).web
    assert config is not None and config.listen == Endpoint("10.0.0.2", 8080)
    assert config.passcode == "orchid-lantern-42" and config.passcode_from == "stage file"
    assert not config.https and "orchid" not in repr(config)


def test_a_listen_without_passcode_is_refused_naming_the_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSCODE_ENV, raising=False)
    text = with_web(listen="0.0.0.0:8080")
    line = text.splitlines().index('listen = "0.0.0.0:8080"') + 1
    message = errors(text)
    assert f"stage.toml:{line}" in message and "has no passcode" in message, message
    assert PASSCODE_ENV in message


def test_the_passcode_may_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSCODE_ENV, "violet-harbour-77")
    config = parse_stage(with_web(listen="127.0.0.1:8080")).web
    assert config is not None and config.passcode == "violet-harbour-77"
    assert config.passcode_from == PASSCODE_ENV
    monkeypatch.setenv(PASSCODE_ENV, "1234")
    assert "too weak" in errors(with_web(listen="127.0.0.1:8080"))


@pytest.mark.parametrize(("web", "expected"), [
    ({"listen": "127.0.0.1:8080", "passcode": "12345678"}, "too weak: a run of consecutive characters"),
    ({"listen": "127.0.0.1:8080", "passcode": "abc"}, "too weak: 3 character(s)"),
    ({"listen": "stage-pc:8080", "passcode": "orchid-lantern-42"}, "invalid address 'stage-pc:8080'"),
    ({"listen": "127.0.0.1:8080", "passcode": "orchid-lantern-42", "certificate": "c.pem"}, "both PEM files"),
    ({"listen": "127.0.0.1:8080", "passcode": "orchid-lantern-42", "port": 1}, "port"),
])
def test_bad_web_tables_say_what_is_wrong(web: dict[str, object], expected: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSCODE_ENV, raising=False)
    message = errors(with_web(**web))
    assert expected in message and ("[web]" in message or "web." in message), message
    assert "orchid-lantern-42" not in message


def test_https_files_resolve_against_the_stage_file(tmp_path: Path) -> None:
    text = with_web(listen="127.0.0.1:8443", passcode="orchid-lantern-42", certificate="tls/cert.pem",
                    key="tls/key.pem")
    config = parse_stage(text, base_dir=tmp_path).web
    assert config is not None and config.https and config.key == tmp_path / "tls/key.pem"


def test_the_demo_stage_serves_the_remote_on_loopback() -> None:
    config = default_stage().web
    assert config is not None and config.listen == Endpoint("127.0.0.1", 8080)
    assert config.passcode == "demo-stage-remote"  # documented in docs/web.md
