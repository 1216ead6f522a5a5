"""`python -m lanchat` runs the command line (see lanchat.cli)."""

from lanchat.cli import main

raise SystemExit(main())
