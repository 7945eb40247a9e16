"""Prior presets: declarative defaults in code (analysis/priors/default.toml is generated from them:
`python -m model priors --write-default`), a user TOML merged over them, unknown keys rejected."""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model.dataset.terms import Term, load_terms
from model.infra.errors import UserError
from model.infra.paths import BUNDLED_RAW, REPO_ROOT

PRESET_DIR = REPO_ROOT / "analysis" / "priors"
# The presets in analysis/priors/ every run compares (the prior sweep and the prior predictive figures).
PRESETS = ("default", "skeptical", "literature")


@dataclass(frozen=True)
class Prior:
    """One prior: a distribution family, its parameters, and what the parameter means (units)."""

    dist: str
    params: dict[str, float]
    doc: str
    note: str = field(default="", compare=False)  # why this default: a comment above it in default.toml

    def logpdf(self, x):
        """Log density of the prior at x (element-wise), the scipy twin of prior_rv's PyMC variable."""
        from scipy import stats

        p = self.params
        if self.dist == "normal":
            return stats.norm.logpdf(x, p["mu"], p["sigma"])
        if self.dist == "halfnormal":
            return stats.halfnorm.logpdf(x, 0.0, p["sigma"])
        if self.dist == "lognormal":
            return stats.lognorm.logpdf(x, p["sigma"], scale=np.exp(p["mu"]))
        raise ValueError(f"unknown prior family {self.dist}")


# Parameters each family accepts, and which must be positive.
FAMILIES = {
    "normal": ("mu", "sigma"),
    "halfnormal": ("sigma",),
    "lognormal": ("mu", "sigma"),
}
POSITIVE = {"sigma"}

# Effects are on the log-odds of a candidate's vote share; money enters as log(1 + dollars / 1000), so one unit is
# an e-fold (x2.7) increase in spending. Each note is written above its prior in the generated default.toml.
DEFAULT_PRIORS: dict[str, Prior] = {
    "beta_support": Prior(
        "normal",
        {"mu": 0.0, "sigma": 0.2},
        "support IE for the candidate, per log(1+$k)",
        "sd 0.2 per log(1+$k): going from no money to $1M (6.9 log units) moves a 50 % candidate by up to about\n"
        "+/- 30 points at 1 sd, enough room for any published estimate; sd 0.5 piled simulated leaders near 100 %.",
    ),
    "beta_oppose": Prior(
        "normal", {"mu": 0.0, "sigma": 0.2}, "opposition IE against the candidate, per log(1+$k); >0 = backfire"
    ),
    "beta_incumbent": Prior(
        "normal",
        {"mu": 0.0, "sigma": 0.5},
        "incumbent on the ballot",
        "sd 0.5 on the logit scale: +/- 12 points at 1 sd",
    ),
    "beta_experienced": Prior(
        "normal",
        {"mu": 0.0, "sigma": 0.5},
        "held an elected office before the race, other than the seat defended",
        "Same scale as incumbency (+/- 12 points at 50 % for 1 sd): room for Jacobson's few-point quality-challenger\n"
        "edge. Prior office is data/raw/candidate_quality.csv (data/README.md).",
    ),
    "beta_turnout_support": Prior(
        "normal", {"mu": 0.0, "sigma": 0.25}, "extra support-IE effect per 10 points of turnout, per log(1+$k)"
    ),
    "tau_cycle": Prior("halfnormal", {"sigma": 0.1}, "sd across cycles of the support and oppose effects"),
    "tau_district": Prior("halfnormal", {"sigma": 0.1}, "sd across districts of the support and oppose effects"),
    "concentration": Prior(
        "lognormal",
        {"mu": 3.5, "sigma": 0.5},
        "Dirichlet concentration of shares (higher = less noise)",
        "exp(3.5 +/- 2 x 0.5) = 12-90: a race's shares scatter by 5-14 points around their expectation. A wider\n"
        "prior (sd 1) put prior mass on concentrations below 5, where a five-way race hands one candidate ~100 %.",
    ),
    "sigma_candidate": Prior(
        "halfnormal",
        {"sigma": 0.5},
        "sd of a candidate's strength across races (logit)",
        "The candidate-aware model (model/models/carryover.py): a strength sd of 0.5 on the logit scale lets one\n"
        "candidate run some 12 points above or below what the covariates say, about the spread of LAUSD primaries.",
    ),
    "beta_primary_share": Prior(
        "normal",
        {"mu": 1.0, "sigma": 0.25},
        "runoff log-share per unit log of the finalist's primary share",
        "1 = the runoff starts at the finalists' two-way primary share; sd 0.25 allows dilution or amplification.",
    ),
    "beta_consolidation": Prior(
        "normal", {"mu": 0.0, "sigma": 0.3}, "runoff gain per 10 pts of aligned eliminated candidates' primary vote"
    ),
    "sigma_head_to_head": Prior("halfnormal", {"sigma": 1.0}, "residual sd of the head-to-head logit share"),
    "money_log_mu": Prior(
        "normal",
        {"mu": 5.0, "sigma": 1.5},
        "mean of log true IE ($k) per candidate and stance",
        "typical IE per candidate and stance: exp(5) = $150k",
    ),
    "money_log_sigma": Prior("halfnormal", {"sigma": 1.5}, "sd of log true IE ($k) per candidate and stance"),
    "beta_own": Prior(
        "normal",
        {"mu": 0.0, "sigma": 0.2},
        "candidate's own committee money, per log(1+$k)",
        "The own-money model (model/models/own_money.py): the candidate's own committee money on the IE scale.",
    ),
    "own_log_mu": Prior(
        "normal",
        {"mu": 4.0, "sigma": 1.5},
        "mean of log true own committee money ($k)",
        "exp(4 +/- 2 x 1.5) = $3k-$1.1M: the span of LAUSD committees (a few $k to several $100k).",
    ),
    "own_log_sigma": Prior("halfnormal", {"sigma": 1.5}, "sd of log true own committee money ($k)"),
}

# Priors of optional terms: a priors file that names one switches its term on (a model checks for the name);
# without it the term is off. beta_own_incumbent: Jacobson's incumbent spending puzzle (own-money model).
OPTIONAL_PRIORS: dict[str, Prior] = {
    "beta_own_incumbent": Prior(
        "normal",
        {"mu": 0.0, "sigma": 0.1},
        "incumbent's own-money slope minus a challenger's, per log(1+$k)",
        "Naming it in a priors file switches on the incumbent x own-money term of the own-money model (an\n"
        "incumbent's slope is beta_own + beta_own_incumbent).",
    ),
}


# Documented defaults of the priors an endorsement term adds (model/dataset/terms.py), used when the priors file
# does not name them: an endorsement moves the log-odds of a candidate's share by about +-0.5 at 1 sd (+-12 points
# at 50 %); its turnout and on-cycle interactions by half that. The report lists the terms that used these defaults.
TERM_PRIOR_DEFAULTS = {
    "beta_": (0.0, 0.5, "{label}"),
    "beta_turnout_": (0.0, 0.5, "extra {label} effect per 10 points of turnout"),
    # On-cycle (even-year, statewide-ballot) turnout is several times off-cycle turnout; this term carries that
    # jump, which no race-level turnout figure yet measures for LAUSD's 2020-2026 races (data/COVERAGE.md).
    "beta_oncycle_": (0.0, 0.5, "extra {label} effect in on-cycle (even-year, high-turnout) elections"),
    # The candidate-aware model's runoff term: the primary-to-runoff change in log votes cast (one unit = an
    # e-fold, e.g. an off-cycle primary to an on-cycle November runoff) shifts the term's candidates by this.
    "beta_electorate_": (0.0, 0.5, "extra {label} effect per unit change in log votes cast, primary to runoff"),
}


def term_priors(terms: tuple[Term, ...]) -> dict[str, Prior]:
    """The documented default prior of every parameter the endorsement terms add."""
    out = {}
    for t in terms:
        for name in t.parameters:
            stem = name.removesuffix(t.term)
            mu, sigma, doc = TERM_PRIOR_DEFAULTS[stem]
            out[name] = Prior("normal", {"mu": mu, "sigma": sigma}, doc.format(label=t.label))
    return out


def with_term_defaults(priors: dict[str, Prior], terms: tuple[Term, ...]) -> dict[str, Prior]:
    """priors plus the documented default of every endorsement-term prior they lack: the one place term defaults are
    merged (load_priors, and a model given priors without them, e.g. DEFAULT_PRIORS in SBC and the bench)."""
    return {**term_priors(terms), **priors}


@dataclass(frozen=True)
class PriorsRead:
    """The priors a run uses and the names its file set (the file parsed once)."""

    priors: dict[str, Prior]
    named: frozenset[str]

    def defaulted(self, terms: tuple[Term, ...]) -> list[str]:
        """Endorsement-term priors the file does not name, so they take their documented default."""
        return [p for t in terms for p in t.parameters if p not in self.named]


def defaulted_term_priors(path: Path | None, terms: tuple[Term, ...]) -> list[str]:
    """Endorsement-term priors a priors file does not name, so they take their documented default."""
    return read_priors(path, terms).defaulted(terms)


def load_priors(path: Path | None, terms: tuple[Term, ...] | None = None) -> dict[str, Prior]:
    """Return the default priors, plus the documented defaults of the endorsement terms' priors, with a TOML
    file's tables merged over them (None: defaults). terms: the data's endorsement terms (default: those of
    the bundled data); a name that is neither a model parameter nor one of their priors is an error."""
    return read_priors(path, terms).priors


def read_priors(path: Path | None, terms: tuple[Term, ...] | None = None) -> PriorsRead:
    """load_priors, and the names the file sets."""
    terms = load_terms(BUNDLED_RAW) if terms is None else terms
    priors = with_term_defaults(DEFAULT_PRIORS, terms)
    if path is None:
        return PriorsRead(priors, frozenset())
    defaults = {**priors, **OPTIONAL_PRIORS}  # a file may name an optional term's prior to switch it on
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: priors file not found") from None
    except tomllib.TOMLDecodeError as err:
        raise UserError(f"{path}: not valid TOML ({err})") from None
    known = ", ".join(sorted(defaults))
    for name, table in raw.items():
        if name not in defaults:
            raise UserError(f"{path}: [{name}]: unknown prior name; known: {known}")
        if not isinstance(table, dict):
            raise UserError(f"{path}: {name}: expected a table like [{name}] with its parameters")
        priors[name] = _merged(path, name, table, defaults[name])
    return PriorsRead(priors, frozenset(raw))


def _merged(path: Path, name: str, table: dict, base: Prior) -> Prior:
    """One [name] table of a priors file over its default, every value checked."""
    dist = table.get("dist", base.dist)
    if dist not in FAMILIES:
        raise UserError(f"{path}: [{name}] dist: unknown family '{dist}'; known: {', '.join(FAMILIES)}")
    params = dict(base.params) if dist == base.dist else {}
    for key, value in table.items():
        if key == "dist":
            continue
        if key not in FAMILIES[dist]:
            raise UserError(f"{path}: [{name}] {key}: unknown parameter for {dist}; known: {', '.join(FAMILIES[dist])}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise UserError(f"{path}: [{name}] {key}: expected a number, got {value!r}")
        if key in POSITIVE and value <= 0:
            raise UserError(f"{path}: [{name}] {key}: must be positive, got {value}")
        params[key] = float(value)
    missing = [p for p in FAMILIES[dist] if p not in params]
    if missing:
        raise UserError(f"{path}: [{name}]: {dist} needs {', '.join(missing)}")
    return Prior(dist, params, base.doc)


def preset_priors(terms: tuple[Term, ...]) -> dict[str, dict[str, Prior] | str]:
    """Each preset of PRESETS read once for the data's endorsement terms: its priors, or why it cannot serve
    this data (e.g. priors for another electorate's endorsers)."""
    out: dict[str, dict[str, Prior] | str] = {}
    for preset in PRESETS:
        try:
            out[preset] = load_priors(resolve_preset(preset), terms)
        except UserError as err:
            out[preset] = str(err)
    return out


def resolve_preset(name_or_path: str) -> Path | None:
    """Map a preset name (default, skeptical, literature) or a path to a TOML file."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml":
        return candidate
    preset = PRESET_DIR / f"{name_or_path}.toml"
    if not preset.exists():
        names = ", ".join(sorted(p.stem for p in PRESET_DIR.glob("*.toml")))
        raise UserError(f"{name_or_path}: unknown prior preset; known: {names} (or give a path to a .toml file)")
    return preset


def priors_as_dict(priors: dict[str, Prior]) -> dict[str, dict]:
    """Plain-data form of priors (for manifests and the report)."""
    return {k: {"dist": p.dist, **p.params} for k, p in sorted(priors.items())}


def priors_hash(priors: dict[str, Prior]) -> str:
    """Content hash of the effective priors (not of the file's formatting)."""
    return hashlib.sha256(json.dumps(priors_as_dict(priors), sort_keys=True).encode()).hexdigest()[:16]


DEFAULT_TOML_HEADER = """\
Weakly informative priors: the values the code uses when no file is given. Generated from model/priors.py
(DEFAULT_PRIORS) by `make priors` (python -m model priors --write-default): edit the code, not this file.
Effects are on the log-odds of a candidate's vote share; money enters as log(1 + dollars/1000).
Edit a copy and run `make fit PRIORS=path/to/copy.toml` to see how the conclusions move; a copy may name only
the priors it changes (the others keep these values).
Endorsement terms (data/raw/endorser_terms.csv) have priors named beta_<term>, and with turnout
interactions beta_turnout_<term>, beta_oncycle_<term> and beta_electorate_<term>. A term this file does
not name gets the documented default (model/priors.py TERM_PRIOR_DEFAULTS): normal(0, 0.5) for beta_<term> and for the
interactions; the report lists them. E.g. [beta_utla] with mu and sigma sets UTLA's."""


def _comment(text: str, prefix: str = "# ") -> list[str]:
    """Lines of text as TOML comments."""
    return [f"{prefix}{line}".rstrip() for line in text.splitlines()]


def _table(name: str, p: Prior, prefix: str = "") -> list[str]:
    """One prior as a TOML table, its doc beside the header and its note above (prefix '# ': commented out)."""
    lines = _comment(p.note) if p.note else []
    lines.append(f"{prefix}[{name}]  # {p.doc}" if not prefix else f"{prefix}[{name}]  ({p.doc})")
    lines += [f"{prefix}{k} = {float(v)!r}" for k, v in p.params.items()]
    return lines


def default_toml() -> str:
    """analysis/priors/default.toml: every default of DEFAULT_PRIORS (its doc and note as comments), then the optional
    priors commented out. The committed file is this text (tests/test_priors.py)."""
    lines = [*_comment(DEFAULT_TOML_HEADER), ""]
    for name, p in DEFAULT_PRIORS.items():
        lines += [*_table(name, p), ""]
    for name, p in OPTIONAL_PRIORS.items():
        lines += ["# Optional, off unless named:", *_table(name, p, prefix="# "), ""]
    return "\n".join(lines)


def write_default_toml(path: Path = PRESET_DIR / "default.toml") -> Path:
    """Write default_toml() to path; return it."""
    Path(path).write_text(default_toml(), encoding="utf-8")
    return Path(path)
