"""[control] allow and passcode: what the checker accepts the control server can use, what it refuses
is located (file:line) and explained, and a passcode a desk could guess is refused."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stagectl.config.devices import MIN_PASSCODE, PASSCODE_ADVICE, passcode_weakness
from stagectl.config.load import ConfigErrors, load_stage, parse_stage
from stagectl.control.auth import AllowList
from stagectl.control.server import ControlServer
from tests.control.test_control import FakeActions
from tests.support.stagefile import StageFile

HEAD = StageFile("S").source("A").text


def _errors(path: Path) -> list[str]:
    with pytest.raises(ConfigErrors) as info:
        load_stage(path)
    return [str(e) for e in info.value.errors]


def test_an_allow_network_with_host_bits_is_refused_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "stage.toml"
    path.write_text(HEAD + '[control]\nlisten = "127.0.0.1:0"\nallow = [\n  "10.0.0.7",\n  "10.0.0.1/24",\n'
                    '  "stage-pc",\n  7,\n]\n', encoding="utf-8")
    first = HEAD.count("\n") + 4
    assert _errors(path) == [
        f'{path}:{first + 1}: control.allow[1]: \'10.0.0.1/24\' has host bits set (the network of 10.0.0.1 '
        'with that prefix is 10.0.0.0/24); allowed: "10.0.0.0/24" for the whole network, or "10.0.0.1" for '
        'one address',
        f"{path}:{first + 2}: control.allow[2]: 'stage-pc' is not an address or network (names are not "
        'resolved); allowed: a list of IP addresses or CIDR networks, e.g. ["127.0.0.1", "10.0.0.0/24"]',
        f"{path}:{first + 3}: control.allow[3]: 7 is not a string; allowed: a list of IP addresses or CIDR "
        'networks, e.g. ["127.0.0.1", "10.0.0.0/24"]']


_ENTRY = st.one_of(
    st.ip_addresses().map(str),
    st.builds(lambda a, p: f"{a}/{p}", st.ip_addresses(v=4), st.integers(0, 32)),
    st.builds(lambda a, p: f"{a}/{p}", st.ip_addresses(v=6), st.integers(0, 128)),
    st.text(max_size=12))


@given(st.lists(_ENTRY, max_size=4))
def test_what_the_checker_accepts_the_control_server_starts_with(entries: list[str]) -> None:
    toml_list = ", ".join('"' + e.replace("\\", "\\\\").replace('"', '\\"') + '"' for e in entries)
    text = HEAD + f'[control]\nlisten = "127.0.0.1:0"\nallow = [{toml_list}]\n'
    try:
        config = parse_stage(text, path="stage.toml")
    except ConfigErrors as exc:
        assert all(e.line is not None for e in exc.errors), exc
        with pytest.raises(ValueError):
            AllowList(entries)
        return
    assert config.control is not None
    server = ControlServer(config.control.listen, FakeActions(), allow=config.control.allow)
    assert server.allow.networks == tuple(ipaddress.ip_network(e.strip()) for e in entries) or not entries


@pytest.mark.parametrize(("passcode", "why"), [
    ("1234", "4 character(s), fewer than 8"),
    ("7291035", "7 character(s), fewer than 8"),
    ("aaaaaaaaaaaa", "only 1 different character(s)"),
    ("12121212", "only 2 different character(s)"),
    ("12345678", "a run of consecutive characters"),
    ("87654321", "a run of consecutive characters"),
    ("abcdefghij", "a run of consecutive characters"),
])
def test_a_guessable_passcode_is_refused_with_why_and_what_to_write(tmp_path: Path, passcode: str,
                                                                    why: str) -> None:
    path = tmp_path / "stage.toml"
    path.write_text(HEAD + f'[control]\nlisten = "127.0.0.1:0"\npasscode = "{passcode}"\n', encoding="utf-8")
    [error] = _errors(path)
    # Says why and what to write, never the passcode itself (the advice is the same for every one).
    line = HEAD.count("\n") + 3
    assert error == f"{path}:{line}: control.passcode: is too weak: {why}; {PASSCODE_ADVICE}"
    assert PASSCODE_ADVICE.startswith(f"allowed: at least {MIN_PASSCODE} characters")


@pytest.mark.parametrize("passcode", ["40718263", "2147483647", "lantern-otter-basil", "Q7#vb2!x"])
def test_a_strong_passcode_is_accepted(passcode: str) -> None:
    assert passcode_weakness(passcode) is None
    config = parse_stage(HEAD + f'[control]\nlisten = "127.0.0.1:0"\npasscode = "{passcode}"\n')
    assert config.control is not None and config.control.passcode == passcode
