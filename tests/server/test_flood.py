"""FloodControl (lanchat.server.flood): the token bucket, driven by a fake clock."""

from __future__ import annotations

from lanchat.config import Flood
from lanchat.server.flood import FloodControl, FloodLedger


class FakeClock:
    """A clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make(
    clock: FakeClock, burst: int = 3, rate: float = 2.0, max_delayed: int = 4
) -> FloodControl[int]:
    return FloodControl(
        burst_lines=burst, lines_per_s=rate, max_delayed_lines=max_delayed, clock=clock
    )


def test_burst_is_processed_at_once() -> None:
    flood = make(FakeClock())
    assert flood.submit([1, 2, 3]) == [1, 2, 3]
    assert flood.waiting == 0
    assert flood.delay_s() is None


def test_lines_over_the_burst_are_delayed_not_dropped() -> None:
    clock = FakeClock()
    flood = make(clock)
    assert flood.submit([1, 2, 3, 4, 5]) == [1, 2, 3]
    assert flood.waiting == 2
    assert flood.delay_s() == 0.5  # one token at 2 lines/s
    assert not flood.overflowed


def test_delayed_lines_are_released_at_the_refill_rate_in_order() -> None:
    clock = FakeClock()
    flood = make(clock)
    flood.submit([1, 2, 3, 4, 5, 6])
    assert flood.release() == []
    clock.advance(0.5)
    assert flood.release() == [4]
    clock.advance(1.0)
    assert flood.release() == [5, 6]
    assert flood.delay_s() is None


def test_new_line_queues_behind_waiting_lines_even_with_a_token() -> None:
    clock = FakeClock()
    flood = make(clock)
    flood.submit([1, 2, 3, 4, 5])
    clock.advance(0.5)
    assert flood.submit([6]) == [4]
    clock.advance(1.0)
    assert flood.release() == [5, 6]


def test_bucket_refills_to_the_burst_and_no_further() -> None:
    clock = FakeClock()
    flood = make(clock)
    flood.submit([1, 2, 3])
    clock.advance(3600.0)
    assert flood.submit(list(range(10, 15))) == [10, 11, 12]


def test_excess_flood_countermeasure_overflows_past_max_delayed_lines() -> None:
    flood = make(FakeClock())
    flood.submit(list(range(3 + 4)))
    assert flood.waiting == 4
    assert not flood.overflowed
    flood.submit([99])
    assert flood.overflowed


def test_slow_steady_sender_is_never_delayed() -> None:
    clock = FakeClock()
    flood = make(clock, burst=1, rate=1.0)
    for i in range(100):
        assert flood.submit([i]) == [i]
        clock.advance(1.0)


def test_clock_going_backwards_does_not_add_tokens() -> None:
    clock = FakeClock()
    flood = make(clock, burst=2)
    flood.submit([1, 2])
    clock.advance(-50.0)
    assert flood.submit([3]) == []


# ---------------------------------------------------------------- history cost (issue 13 item 9)


def test_charge_puts_the_bucket_in_debt_and_later_lines_wait_for_the_refill() -> None:
    clock = FakeClock()
    flood = make(clock, burst=3, rate=2.0)
    assert flood.submit([1]) == [1]
    flood.charge(4.0)  # 2 tokens left, 4 spent: 2 owed
    assert flood.in_debt
    assert flood.submit([2]) == []
    assert flood.delay_s() == 1.5  # from -2 to +1 at 2 lines/s
    clock.advance(1.5)
    assert flood.release() == [2]


def test_refund_gives_back_an_unused_charge_but_never_past_the_burst() -> None:
    clock = FakeClock()
    flood = make(clock, burst=3)
    flood.charge(10.0)
    flood.refund(9.0)
    assert flood.tokens == 2.0
    flood.refund(50.0)
    assert flood.tokens == 3.0


def test_defer_puts_released_lines_back_in_front_with_their_tokens() -> None:
    clock = FakeClock()
    flood = make(clock, burst=3, rate=1.0)
    ready = flood.submit([1, 2, 3])
    assert ready == [1, 2, 3]
    flood.charge(2.0)  # line 1 turned out to be costly: 2 and 3 must wait
    flood.defer(ready[1:])
    assert flood.waiting == 2
    assert flood.submit([4]) == []
    clock.advance(1.0)  # 0 tokens + 2 returned - 2 charged = 0, then +1
    assert flood.release() == [2]
    clock.advance(2.0)
    assert flood.release() == [3, 4]


# ---------------------------------------------------------------- per address (issue 13 item 8)


def make_ledger(clock: FakeClock, burst: int = 3, rate: float = 2.0) -> FloodLedger:
    settings = Flood(burst_lines=burst, lines_per_s=rate, max_delayed_lines=4)
    return FloodLedger(settings, clock=clock)


def spend_and_close(ledger: FloodLedger, address: str) -> None:
    """A connection from `address` sends a whole burst (3 lines) and closes."""
    flood = ledger.open(address)
    assert flood.submit([1, 2, 3]) == [1, 2, 3]
    ledger.close(address, flood)


def test_reconnect_flood_countermeasure_new_connection_starts_where_the_address_left() -> None:
    clock = FakeClock()
    ledger = make_ledger(clock)
    spend_and_close(ledger, "192.168.1.7")
    second = ledger.open("192.168.1.7")
    assert second.submit([4]) == []  # before issue 13 a reconnect had a full bucket
    clock.advance(0.5)
    assert second.release() == [4]


def test_another_address_starts_with_a_full_bucket() -> None:
    ledger = make_ledger(FakeClock())
    spend_and_close(ledger, "192.168.1.7")
    assert ledger.open("192.168.1.8").submit([1, 2, 3]) == [1, 2, 3]


def test_ledger_keeps_the_lowest_level_when_several_connections_close() -> None:
    clock = FakeClock()
    ledger = make_ledger(clock)
    busy, fresh = ledger.open("10.0.0.1"), ledger.open("10.0.0.1")
    busy.submit([1, 2, 3])
    ledger.close("10.0.0.1", busy)
    ledger.close("10.0.0.1", fresh)  # closing an unused one last does not wipe the debt
    assert ledger.open("10.0.0.1").submit([4]) == []


def test_ledger_forgets_an_address_once_the_refill_has_filled_its_bucket() -> None:
    clock = FakeClock()
    ledger = make_ledger(clock)
    spend_and_close(ledger, "10.0.0.1")
    clock.advance(1.0)  # 0 + 2 lines/s x 1 s = 2 of 3
    assert ledger.open("10.0.0.1").submit([4, 5, 6]) == [4, 5]
    clock.advance(1.5)
    assert ledger.open("10.0.0.1").submit([7, 8, 9]) == [7, 8, 9]
    assert len(ledger) == 0


def test_ledger_carries_a_history_debt_across_a_reconnect() -> None:
    clock = FakeClock()
    ledger = make_ledger(clock, burst=3, rate=1.0)
    flood = ledger.open("10.0.0.1")
    flood.charge(20.0)
    ledger.close("10.0.0.1", flood)
    clock.advance(10.0)
    again = ledger.open("10.0.0.1")
    assert again.tokens == -7.0
    assert again.submit([1]) == []


def test_ledger_sweeps_refilled_addresses_so_many_addresses_cost_bounded_memory() -> None:
    clock = FakeClock()
    ledger = make_ledger(clock, burst=3, rate=3.0)
    for i in range(5000):
        spend_and_close(ledger, f"10.0.{i // 256}.{i % 256}")
        clock.advance(0.01)  # each entry is full again after 1 s, i.e. 100 entries later
    assert len(ledger) < 2100
