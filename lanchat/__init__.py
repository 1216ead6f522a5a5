"""lanchat: chat rooms on a local network that people find without typing an address.

What a package's ``__init__`` exports (one rule for every package; STYLE.md "Naming", after
h11 and websockets):

- ``__all__`` lists the package's public API, and every name in it is an attribute of the
  package: ``from lanchat.<package> import <name>`` works for each.
- Importing a package loads only its pure parts. A name whose module needs zeroconf,
  sqlite3, tkinter or an event loop is imported on first use through a module
  ``__getattr__`` (PEP 562), as lanchat.store and lanchat.discovery do, so the pure server
  core never loads sqlite3 and a GUI matching on discovery events never loads zeroconf.
- An application package (server, server.handlers, gui, launcher) exports nothing,
  ``__all__ = []``, and its docstring says which module to import instead.

This package itself holds the version only and imports nothing from lanchat.
tests/test_packages.py holds every package to these rules.
"""

__version__ = "0.1.0"
