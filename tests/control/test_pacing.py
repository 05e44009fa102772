"""The control-in backlog: turns bounded by count and by time, senders served in rotation, bounds that
drop a flood and never the desk. A fake clock stands in for time: the handler advances it."""

from __future__ import annotations

from stagectl.control.pacing import Backlog


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_turn_stops_after_the_message_that_crosses_its_time_budget() -> None:
    clock, done = _Clock(), []

    def slow(item: int) -> None:  # each message takes 0.8 ms
        done.append(item)
        clock.now += 0.0008

    backlog: Backlog[int] = Backlog(slow, per_turn=16, turn_s=0.002, clock=clock)
    assert backlog.offer("10.0.0.5", list(range(10)))
    assert backlog.run_turn() == 3  # 0.8, 1.6, 2.4 ms: stops after the third
    assert backlog.pending == 7 and backlog.turns_cut == 1
    assert [backlog.run_turn() for _ in range(3)] == [3, 3, 1]
    assert done == list(range(10)) and backlog.pending == 0 and backlog.turns_cut == 3


def test_a_turn_stops_at_its_message_count() -> None:
    done: list[int] = []
    backlog: Backlog[int] = Backlog(done.append, per_turn=4, clock=_Clock())
    backlog.offer("a", list(range(10)))
    assert [backlog.run_turn() for _ in range(3)] == [4, 4, 2]


def test_senders_are_served_in_rotation() -> None:
    done: list[str] = []
    backlog: Backlog[str] = Backlog(done.append, per_turn=6, clock=_Clock())
    backlog.offer("flood", [f"f{n}" for n in range(50)])
    backlog.offer("desk", ["go", "back"])
    backlog.run_turn()
    assert done == ["f0", "go", "f1", "back", "f2", "f3"]


def test_bounds_drop_whole_datagrams_but_not_a_privileged_sender() -> None:
    backlog: Backlog[int] = Backlog(lambda item: None, per_sender=64, total=100, clock=_Clock())
    assert backlog.offer("a", [0] * 64)
    assert not backlog.offer("a", [0])  # its own queue is full
    assert not backlog.offer("b", [0] * 40)  # 104 > total
    assert backlog.offer("b", [0] * 36) and backlog.pending == 100
    assert backlog.offer("desk", [0] * 64, privileged=True)  # a live session: only its own bound
    assert not backlog.offer("desk", [0], privileged=True)
    assert backlog.pending == 164 and backlog.most_pending == 164
    backlog.clear()
    assert backlog.pending == 0 and backlog.run_turn() == 0


def test_full_says_whether_one_more_item_fits() -> None:
    backlog: Backlog[int] = Backlog(lambda item: None, per_sender=2, total=3, clock=_Clock())
    assert not backlog.full("a")
    backlog.offer("a", [1, 2])
    assert backlog.full("a") and not backlog.full("b")
    backlog.offer("b", [3])
    assert backlog.full("b") and not backlog.full("b", privileged=True)
