"""benchkit: the side-by-side benchmark of lanchat against C/C++ IRC servers (issue #4).

Layer: a tool outside the lanchat package. It starts every server as a subprocess bound to
127.0.0.1 and talks to it over real sockets only; it imports lanchat solely to prefill the
history database (lanchat.store) and to reach `lanchat serve` through `python -m lanchat`.

Modules:
    servers   locate/install the Debian servers, write their configs, start and stop them
    relay     a trivial IRC byte relay (the load generator's yardstick)
    loadgen   the asyncio/uvloop client swarm and the six scenarios
    fleet     the coordinator of the load scenarios: splits the clients over worker processes
    worker    one load generator process: a slice of the clients on its own uvloop loop
    report    table, ratios, JSON and PNG output
    __main__  the command line used by scripts/bench

Run it with `scripts/bench --help`.
"""
