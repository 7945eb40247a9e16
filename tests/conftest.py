"""Shared pytest set-up: Hypothesis profiles (derandomized in CI, random locally)."""

from __future__ import annotations

import os

from hypothesis import settings

# CI must give the same verdict on the same commit: "ci" derives every example from the test itself (derandomize)
# and keeps no example database. Locally "dev" stays random, so each run explores new inputs; a failure found that
# way is printed with its example, which belongs in the test as an @example so CI then checks it every time.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev", print_blob=True)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
settings.load_profile(PROFILE)
