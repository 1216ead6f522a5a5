"""The lanchat room server: an IRC server (modern.ircdocs.horse + IRCv3) for the LAN.

Layer: the package itself imports and exports nothing (import its modules), so the pure
core (state, model, modes, effects, dispatch, handlers, flood) stays importable without
asyncio, sockets or SQLite.

- pure core: `lanchat.server.state.ServerState` and its handlers turn events into effects;
- asyncio edge: `lanchat.server.connection` (one asyncio.Protocol per TCP connection),
  `lanchat.server.hub` (applies effects in order: group commit, fan-out, one write per
  connection per loop pass), `lanchat.server.heap` (returns freed memory after bursts) and
  `lanchat.server.app` (`serve()` for `lanchat serve`, `running_server()` for in-process
  tests).
"""

__all__: list[str] = []
