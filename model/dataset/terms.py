"""Which endorsers become model terms: a small table in the data directory (endorser_terms.csv), so another
electorate (other unions, other reform groups) is a data directory, not a code edit."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from model.infra.errors import DataError

TERMS_FILE = "endorser_terms.csv"
COLUMNS = ("endorser", "term", "label", "turnout_interactions", "notes")
# A term name becomes part of parameter names (beta_<term>) and priors-file keys: short, lower case.
TERM_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")


@dataclass(frozen=True)
class Term:
    """An endorser modelled as a term: endorsed candidates get beta_<term> on the log-odds of their share;
    turnout_interactions adds beta_turnout_<term> (per 10 points of turnout), beta_oncycle_<term> and, in the
    candidate-aware model's runoffs, beta_electorate_<term> (per unit change in log votes cast)."""

    endorser: str  # as written in endorsements.csv
    term: str  # parameter-name stem
    label: str  # e.g. "UTLA endorsement"
    turnout_interactions: bool = False

    @property
    def parameters(self) -> tuple[str, ...]:
        """The parameters (and prior names) this term adds."""
        stems = ("beta_turnout_", "beta_oncycle_", "beta_electorate_")
        extra = tuple(f"{stem}{self.term}" for stem in stems) if self.turnout_interactions else ()
        return (f"beta_{self.term}", *extra)


def load_terms(raw_dir: Path) -> tuple[Term, ...]:
    """The endorser terms of a data directory; no file means no endorsement terms. Bad rows raise DataError
    naming file, line and field."""
    path = Path(raw_dir) / TERMS_FILE
    if not path.is_file():
        return ()
    name = str(path)
    reader = csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline=""))
    rows = list(reader)
    if not rows:
        raise DataError(name, "file is empty; expected a header row")
    header = [h.strip() for h in rows[0]]
    for h in header:
        if h not in COLUMNS:
            raise DataError(name, f"unknown column '{h}'; expected columns {list(COLUMNS)}", row=1)
    for c in COLUMNS[:3]:
        if c not in header:
            raise DataError(name, f"missing column '{c}'", row=1)
    terms: list[Term] = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise DataError(name, f"expected {len(header)} fields, found {len(row)}", row=line)
        rec = dict(zip(header, (c.strip() for c in row), strict=True))
        if not rec["endorser"]:
            raise DataError(name, "empty endorser", line, "endorser")
        if not TERM_NAME.match(rec["term"]):
            raise DataError(name, f"term '{rec['term']}' must be lower-case letters, digits or _", line, "term")
        flag = rec.get("turnout_interactions", "") or "false"
        if flag not in ("true", "false"):
            raise DataError(name, f"expected true or false, got '{flag}'", line, "turnout_interactions")
        for t in terms:
            if rec["endorser"] == t.endorser:
                raise DataError(name, f"endorser '{t.endorser}' is listed twice", line, "endorser")
            if rec["term"] == t.term:
                raise DataError(name, f"term '{t.term}' is listed twice", line, "term")
        label = rec["label"] or f"{rec['endorser']} endorsement"
        terms.append(Term(rec["endorser"], rec["term"], label, flag == "true"))
    return tuple(terms)


def term_parameters(terms: tuple[Term, ...]) -> list[str]:
    """Every parameter (prior name) the terms add, in model order."""
    return [p for t in terms for p in t.parameters]
