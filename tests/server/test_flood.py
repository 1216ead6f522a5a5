"""FloodControl (lanchat.server.flood): the token bucket, driven by a fake clock."""

from __future__ import annotations

from lanchat.server.flood import FloodControl


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
