"""`python -m model.tools.bench`."""

import sys

from model.tools.bench.cli import main

sys.exit(main())
