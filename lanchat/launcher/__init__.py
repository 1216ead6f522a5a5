"""The launcher (`lanchat`, `lanchat launcher`): host rooms on this machine, open the chat.

Layer: top of the desktop side; may import lanchat.gui (theme, view-model), lanchat.store
(to set a hosted room's key), lanchat.discovery (its events; the browser in app.run) and
the standard library; its rooms run as `python -m lanchat serve` child processes.

- supervisor: Supervisor starts and stops those children, no Tk
- app: LauncherApp (the small window) and run()
"""

__all__: list[str] = []
