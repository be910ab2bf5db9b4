"""Allow `python -m tspanel`."""

from tspanel.cli import main

raise SystemExit(main())
