"""Entry point for `python -m model`."""

from model.cli import main

raise SystemExit(main())
