"""Prior presets: declarative defaults in code, a user TOML merged over them, unknown keys rejected."""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.dataset.terms import Term, load_terms
from model.infra.errors import UserError
from model.infra.paths import BUNDLED_RAW, REPO_ROOT

PRESET_DIR = REPO_ROOT / "analysis" / "priors"


@dataclass(frozen=True)
class Prior:
    """One prior: a distribution family, its parameters, and what the parameter means (units)."""

    dist: str
    params: dict[str, float]
    doc: str

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

# Effects are on the log-odds of a candidate's vote share. Money enters as log(1 + dollars / 1000), so
# one unit is an e-fold (x2.7) increase in spending; 0.5 per unit would mean +12 points at 50 % share
# for each e-fold, an implausibly large effect that a weakly informative prior still allows.
DEFAULT_PRIORS: dict[str, Prior] = {
    "beta_support": Prior("normal", {"mu": 0.0, "sigma": 0.2}, "support IE for the candidate, per log(1+$k)"),
    "beta_oppose": Prior(
        "normal", {"mu": 0.0, "sigma": 0.2}, "opposition IE against the candidate, per log(1+$k); >0 = backfire"
    ),
    "beta_incumbent": Prior("normal", {"mu": 0.0, "sigma": 0.5}, "incumbent on the ballot"),
    # Same scale as incumbency: +/- 12 points at 50 % for 1 sd, room for Jacobson's few-point quality-challenger edge.
    "beta_experienced": Prior(
        "normal", {"mu": 0.0, "sigma": 0.5}, "held an elected office before the race, other than the seat defended"
    ),
    "beta_turnout_support": Prior(
        "normal", {"mu": 0.0, "sigma": 0.25}, "extra support-IE effect per 10 points of turnout, per log(1+$k)"
    ),
    "tau_cycle": Prior("halfnormal", {"sigma": 0.1}, "sd across cycles of the support and oppose effects"),
    "tau_district": Prior("halfnormal", {"sigma": 0.1}, "sd across districts of the support and oppose effects"),
    # exp(3.5 +/- 2 x 0.5) = 12-90: a race's shares scatter by 5-14 points around their expectation. A wider
    # prior (sd 1) put prior mass on concentrations below 5, where a five-way race hands one candidate ~100 %.
    "concentration": Prior(
        "lognormal", {"mu": 3.5, "sigma": 0.5}, "Dirichlet concentration of shares (higher = less noise)"
    ),
    # The candidate-aware model (model/models/carryover.py). A strength sd of 0.5 on the logit scale lets one candidate
    # run some 12 points above or below what the covariates say, about the spread of LAUSD primaries.
    "sigma_candidate": Prior("halfnormal", {"sigma": 0.5}, "sd of a candidate's strength across races (logit)"),
    # 1 = the runoff starts at the finalists' two-way primary share; 0.25 allows dilution or amplification.
    "beta_primary_share": Prior(
        "normal", {"mu": 1.0, "sigma": 0.25}, "runoff log-share per unit log of the finalist's primary share"
    ),
    "beta_consolidation": Prior(
        "normal", {"mu": 0.0, "sigma": 0.3}, "runoff gain per 10 pts of aligned eliminated candidates' primary vote"
    ),
    "sigma_head_to_head": Prior("halfnormal", {"sigma": 1.0}, "residual sd of the head-to-head logit share"),
    "money_log_mu": Prior("normal", {"mu": 5.0, "sigma": 1.5}, "mean of log true IE ($k) per candidate and stance"),
    "money_log_sigma": Prior("halfnormal", {"sigma": 1.5}, "sd of log true IE ($k) per candidate and stance"),
    # The own-money model (model/models/own_money.py): the candidate's own committee money, on the IE scale.
    "beta_own": Prior("normal", {"mu": 0.0, "sigma": 0.2}, "candidate's own committee money, per log(1+$k)"),
    # exp(4 +/- 2 x 1.5) = $3k-$1.1M: the span of LAUSD committees (a few $k to several $100k).
    "own_log_mu": Prior("normal", {"mu": 4.0, "sigma": 1.5}, "mean of log true own committee money ($k)"),
    "own_log_sigma": Prior("halfnormal", {"sigma": 1.5}, "sd of log true own committee money ($k)"),
}

# Priors of optional terms: a priors file that names one switches its term on (a model checks for the name);
# without it the term is off. beta_own_incumbent: Jacobson's incumbent spending puzzle (own-money model).
OPTIONAL_PRIORS: dict[str, Prior] = {
    "beta_own_incumbent": Prior(
        "normal", {"mu": 0.0, "sigma": 0.1}, "incumbent's own-money slope minus a challenger's, per log(1+$k)"
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
    """priors plus the documented default of every endorsement-term prior they lack."""
    return {**term_priors(terms), **priors}


def names_in_file(path: Path | None) -> set[str]:
    """The prior names a TOML file sets (empty for no file); the file is validated by load_priors first."""
    if path is None:
        return set()
    return set(tomllib.loads(Path(path).read_text(encoding="utf-8")))


def defaulted_term_priors(path: Path | None, terms: tuple[Term, ...]) -> list[str]:
    """Endorsement-term priors the file does not name, so they take their documented default."""
    named = names_in_file(path)
    return [p for t in terms for p in t.parameters if p not in named]


def load_priors(path: Path | None, terms: tuple[Term, ...] | None = None) -> dict[str, Prior]:
    """Return the default priors, plus the documented defaults of the endorsement terms' priors, with a TOML
    file's tables merged over them (None: defaults). terms: the data's endorsement terms (default: those of
    the bundled data); a name that is neither a model parameter nor one of their priors is an error."""
    terms = load_terms(BUNDLED_RAW) if terms is None else terms
    defaults = {**DEFAULT_PRIORS, **term_priors(terms)}
    priors = dict(defaults)
    if path is None:
        return priors
    defaults = {**defaults, **OPTIONAL_PRIORS}  # a file may name an optional term's prior to switch it on
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
        base = defaults[name]
        dist = table.get("dist", base.dist)
        if dist not in FAMILIES:
            raise UserError(f"{path}: [{name}] dist: unknown family '{dist}'; known: {', '.join(FAMILIES)}")
        params = dict(base.params) if dist == base.dist else {}
        for key, value in table.items():
            if key == "dist":
                continue
            if key not in FAMILIES[dist]:
                raise UserError(
                    f"{path}: [{name}] {key}: unknown parameter for {dist}; known: {', '.join(FAMILIES[dist])}"
                )
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise UserError(f"{path}: [{name}] {key}: expected a number, got {value!r}")
            if key in POSITIVE and value <= 0:
                raise UserError(f"{path}: [{name}] {key}: must be positive, got {value}")
            params[key] = float(value)
        missing = [p for p in FAMILIES[dist] if p not in params]
        if missing:
            raise UserError(f"{path}: [{name}]: {dist} needs {', '.join(missing)}")
        priors[name] = Prior(dist, params, base.doc)
    return priors


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
