"""The settings a cluster's nodes must share: their digests, and the replica's rule, by plain
calls (lanchat.cluster.settings; the real nodes are in test_shared_config.py)."""

from __future__ import annotations

from pathlib import Path

from lanchat.cluster.events import GONE, HELLO, Event, hello_data, read_hello
from lanchat.cluster.replica import Replica
from lanchat.cluster.settings import SECTIONS, differing, digests, refusal
from lanchat.passwords import ScryptParams, hash_password
from tests.support import server_config

OPER = hash_password("open sesame", ScryptParams(log2_n=4))


def test_each_decision_relevant_part_has_its_own_digest(tmp_path: Path) -> None:
    base = digests(server_config(tmp_path), "c1")
    assert list(base) == list(SECTIONS)
    changed = {
        "limits": server_config(tmp_path, limits={"nicklen": 20}),
        "accounts": server_config(tmp_path, accounts={"registration": False}),
        "opers": server_config(tmp_path, opers={"host": OPER}),
        "password": server_config(tmp_path, server={"password": "letmein"}),
    }
    for part, config in changed.items():
        assert differing(digests(config, "c1"), base) == [part]
    # What each node decides alone differs harmlessly: not compared.
    alone = server_config(
        tmp_path / "b", server={"name": "b.local", "rooms": ["#b"]}, flood={"burst_lines": 3}
    )
    assert differing(digests(alone, "c1"), base) == []


def test_no_digest_shows_a_secret_and_the_password_one_is_salted_by_the_cluster(
    tmp_path: Path,
) -> None:
    config = server_config(tmp_path, server={"password": "letmein"}, opers={"host": OPER})
    mine = digests(config, "c1")
    text = hello_data(["#lobby"], mine)
    assert b"letmein" not in text and OPER.encode() not in text
    assert digests(config, "c2")["password"] != mine["password"]
    assert digests(config, "c1") == mine  # the same on every node of the cluster


def test_a_hello_carries_its_rooms_and_digests_and_an_old_hello_reads_as_none() -> None:
    assert read_hello(hello_data(["#a", "#b"], {"limits": "ab"})) == (
        ["#a", "#b"],
        {"limits": "ab"},
    )
    assert read_hello(hello_data([], {"limits": "ab"})) == ([], {"limits": "ab"})
    assert read_hello(b"#a\n#b") == (["#a", "#b"], {})


def hello(node: int, config_dir: Path, **sections: dict[str, object]) -> Event:
    settings = digests(server_config(config_dir, **sections), "c1")
    return Event(HELLO, node, 0, hello_data([f"#n{node}"], settings))


def test_a_hello_configured_otherwise_is_refused_until_the_nodes_it_differs_from_are_gone(
    tmp_path: Path,
) -> None:
    replica = Replica(server_config(tmp_path))
    replica.apply("1000-0", hello(1, tmp_path))
    replica.apply("1000-1", hello(2, tmp_path))
    replica.apply("1001-0", hello(3, tmp_path, limits={"nicklen": 20}))
    assert replica.refused == {3: {1: ["limits"], 2: ["limits"]}}
    assert "#n3" not in replica.state.rooms and "#n2" in replica.state.rooms
    assert replica.nodes() == {1, 2}  # a refused node is not looked after
    replica.apply("1002-0", Event(GONE, 1, 0, b"1", "Server shutting down"))
    replica.apply("1002-1", Event(GONE, 2, 0, b"2", "Server shutting down"))
    replica.apply("1003-0", hello(4, tmp_path, limits={"nicklen": 20}))
    assert 4 not in replica.refused and "#n4" in replica.state.rooms
    assert replica.settings.keys() == {4}


def test_the_refusal_names_what_differs_and_what_to_do() -> None:
    text = refusal({1: ["limits"], 3: ["limits", "opers"]})
    assert "(nodes 1, 3) in [limits] and [opers]" in text
    assert text.endswith(
        "start it with the same settings as theirs, or stop every node to change these settings"
    )
    assert "(node 2) in --password ([server] password)," in refusal({2: ["password"]})
