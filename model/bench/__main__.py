"""`python -m model.bench`."""

import sys

from model.bench.cli import main

sys.exit(main())
