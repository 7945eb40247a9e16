"""Number formatting shared by the claims and the report: points, probabilities, dollars, ratios."""

from __future__ import annotations

import numpy as np


def fmt_pp(x: float) -> str:
    """Points of vote share to 1 decimal, or an em dash when missing."""
    return "—" if x is None or not np.isfinite(x) else f"{x:.1f}"


def fmt_interval(mean: float, lo: float, hi: float) -> str:
    """'mean [lo, hi]' in points to 1 decimal."""
    if mean is None or not np.isfinite(mean):
        return "—"
    return f"{fmt_pp(mean)} [{fmt_pp(lo)}, {fmt_pp(hi)}]"


def fmt_prob(p: float) -> str:
    """A probability to 2 decimals."""
    return "—" if p is None or not np.isfinite(p) else f"{p:.2f}"


def fmt_usd(x: float) -> str:
    """Dollars as $1.2M, $65k or $950."""
    if x is None or not np.isfinite(x):
        return "—"
    if abs(x) >= 1e6:
        return f"${x / 1e6:.1f}M"
    if abs(x) >= 1e4:
        return f"${x / 1e3:.0f}k"
    return f"${x:,.0f}"


def fmt_ratio(r: float) -> str:
    """A spending ratio 'N to 1'."""
    if np.isnan(r):
        return "no IE on either side"
    if np.isinf(r):
        return "all recorded IE on one side"
    return f"{r:.0f} to 1" if r >= 10 else f"{r:.1f} to 1"
