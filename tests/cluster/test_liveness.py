"""Which nodes are gone, from their heartbeat counts: plain calls with made-up times."""

from __future__ import annotations

from lanchat.cluster.liveness import Liveness


def test_a_count_that_stands_still_for_the_timeout_is_a_gone_node() -> None:
    liveness = Liveness(timeout_s=3.0, look_every_s=2.0)
    assert liveness.look({2: 5, 3: 9}, {2, 3}, now=0.0) == []
    assert liveness.look({2: 6, 3: 9}, {2, 3}, now=1.5) == []
    assert liveness.look({2: 7, 3: 9}, {2, 3}, now=3.0) == [3]  # 9 since 0.0
    assert liveness.look({2: 8, 3: 9}, {2, 3}, now=4.5) == []  # told; again in a timeout
    assert liveness.look({2: 9, 3: 9}, {2, 3}, now=6.0) == [3]


def test_a_node_without_a_count_is_gone_after_the_timeout_too() -> None:
    liveness = Liveness(timeout_s=2.0, look_every_s=1.0)
    assert liveness.look({}, {4}, now=0.0) == []
    assert liveness.look({}, {4}, now=1.0) == []
    assert liveness.look({}, {4}, now=2.0) == [4]


def test_a_late_look_or_an_outage_gives_everyone_a_whole_timeout_again() -> None:
    liveness = Liveness(timeout_s=2.0, look_every_s=1.0)
    assert liveness.look({2: 1}, {2}, now=0.0) == []
    assert liveness.look({2: 1}, {2}, now=5.0) == []  # this node was stopped, not node 2
    assert liveness.look({2: 1}, {2}, now=6.0) == []
    liveness.forget()  # Redis was away
    assert liveness.look({2: 1}, {2}, now=7.0) == []
    assert liveness.look({2: 1}, {2}, now=8.0) == []
    assert liveness.look({2: 1}, {2}, now=9.0) == [2]
