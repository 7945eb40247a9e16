"""Command line: `python -m model {data,fit,report,whatif,models}`."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from model.errors import UserError
from model.parallel import add_arguments
from model.samplers import SAMPLERS


def main(argv: list[str] | None = None) -> int:
    """Run a sub-command; user errors print one line and return 2."""
    parser = argparse.ArgumentParser(prog="python -m model")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("data", help="validate data/raw, build data/clean and data/COVERAGE.md")
    p.add_argument("--raw", type=Path, default=Path("data/raw"))
    p.add_argument("--out", type=Path, default=Path("data/clean"))
    p.add_argument("--coverage", type=Path, default=Path("data/COVERAGE.md"))
    f = sub.add_parser("fit", help="fit every model; write runs/<run-id>/ and figures/")
    f.add_argument("--raw", type=Path, default=Path("data/raw"))
    f.add_argument("--priors", default="default", help="preset name (default, skeptical, literature) or a .toml path")
    f.add_argument("--seed", type=int, default=20260305)
    f.add_argument("--runs", type=Path, default=Path("runs"))
    f.add_argument("--figures", type=Path, default=Path("figures"))
    f.add_argument(
        "--sampler",
        choices=SAMPLERS,
        default="nutpie",
        help="numpyro and blackjax run through PyMC's JAX path and need the extra: pip install -e '.[jax]'",
    )
    f.add_argument("--draws", type=int, help="posterior draws per chain (default: fit.SamplerSettings)")
    f.add_argument("--tune", type=int, default=1000)
    f.add_argument("--chains", type=int, default=4)
    f.add_argument("--strict", action="store_true", help="exit 1 when a diagnostic fails")
    f.add_argument("--refit", action="store_true", help="refit even if a run with the same inputs exists")
    f.add_argument(
        "--models",
        nargs="+",
        metavar="NAME",
        help="fit only these registered models ('main' for the main one; default: all)",
    )
    f.add_argument(
        "--skip",
        nargs="+",
        default=[],
        metavar="STEP",
        help="leave out secondary steps: loco (leave one cycle out), forecast (runoff forecast), sweep (prior sweep)",
    )
    add_arguments(f)
    r = sub.add_parser("report", help="render reports/report.md and report.html from the latest run (never refits)")
    r.add_argument("--runs", type=Path, default=Path("runs"))
    r.add_argument("--out", type=Path, default=Path("reports"))
    w = sub.add_parser("whatif", help="one race-round's shares and chances with a candidate's money changed")
    w.add_argument("--runs", type=Path, default=Path("runs"))
    w.add_argument("--race", required=True, help="race-round id, e.g. 2024-11-05-D3")
    w.add_argument("--candidate", required=True, help="candidate id, e.g. dan-chang")
    for channel, words in (("support", "IE for"), ("oppose", "IE against"), ("own", "own committee money")):
        w.add_argument(
            f"--{channel}", help=f"change of the candidate's {words}: +500000, +$2M, or a cut as --{channel}=-40%%"
        )
    w.add_argument("--seed", type=int, help="seed of the chances' Monte Carlo draws (default: whatif.WHATIF_SEED)")
    sub.add_parser("models", help="list the registered models and classical estimators, one line each")
    args = parser.parse_args(argv)
    try:
        if args.command == "data":
            from model.build import build_all

            summary = build_all(args.raw, args.out, args.coverage)
            print(summary)
        elif args.command == "fit":
            return _fit(args)
        elif args.command == "whatif":
            print(_whatif(args))
        elif args.command == "models":
            print(models_listing())
        elif args.command == "report":
            from model.atomic import recover_all
            from model.report import write_report

            recover_all(args.runs)  # a fit killed mid-swap: its previous run comes back before it is read
            md, page = write_report(args.runs, args.out)
            print(f"wrote {md} and {page}")
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def _fit(args: argparse.Namespace) -> int:
    """Run `fit`; copy the run's figures to the stable figures/ folder."""
    from model.atomic import write_bytes
    from model.fit import SamplerSettings, run_fit
    from model.samplers import require_sampler

    require_sampler(args.sampler)  # before anything is written: a missing JAX extra stops here
    if not sys.stderr.isatty():
        # On a terminal PyMC's progress and variable lists help; in CI and logs they bury the result lines.
        logging.getLogger("pymc").setLevel(logging.WARNING)
    draws = {} if args.draws is None else {"draws": args.draws}
    settings = SamplerSettings(sampler=args.sampler, chains=args.chains, tune=args.tune, **draws)
    run_dir, passed = run_fit(
        args.raw,
        args.priors,
        args.seed,
        args.runs,
        settings,
        strict=args.strict,
        progress=sys.stderr.isatty(),
        reuse=not args.refit,
        models_to_fit=args.models,
        skip=frozenset(args.skip),
        workers=args.workers,
        scheduler=args.scheduler,
    )
    args.figures.mkdir(parents=True, exist_ok=True)
    for png in sorted((run_dir / "figures").glob("*.png")):
        write_bytes(args.figures / png.name, png.read_bytes())
    print(f"run {run_dir} ({'diagnostics passed' if passed else 'DIAGNOSTICS FAILED: see diagnostics.csv'})")
    return 1 if args.strict and not passed else 0


def _whatif(args: argparse.Namespace) -> str:
    """Run `whatif` on the latest run: the table, the price of an even chance, and the caveat."""
    import pandas as pd

    from model import whatif
    from model.report.document import latest_run_dir

    run_dir = latest_run_dir(args.runs)
    table = whatif.load_whatif_table(run_dir)
    rows = pd.read_csv(run_dir / "model_rows.csv")
    names = dict(zip(rows.candidate_id, rows.name, strict=False))
    changes = {ch: whatif.parse_change(getattr(args, ch)) for ch in ("support", "oppose", "own") if getattr(args, ch)}
    rd = whatif.race_draws(table, args.race)
    seed = whatif.WHATIF_SEED if args.seed is None else args.seed
    result = whatif.scenario(rd, args.candidate, changes, seed=seed)
    out = [f"{args.race}, run {run_dir.name}", whatif.describe(result, names, args.candidate, changes, len(rd.eta))]
    price = whatif.round_price(rd, rows)
    if price is not None:
        out.append(whatif.price_sentence(price, names, whatif.realistic_usd(rows)).replace("**", ""))
    return "\n".join([*out, whatif.CAUTION])


def models_listing() -> str:
    """One line per registered model: name, kind, '(main)' for the main model or '(asked)' for one fitted only
    when named, and its description."""
    from model import classical, models

    main = models.main_name()
    lines = []
    for m in models.REGISTRY.values():
        flag = " (main)" if m.name == main else "" if m.in_default_fit else " (asked)"
        lines.append(f"{m.name:<36} bayes{flag:<8} {m.description}")
    for name, est in classical.ESTIMATORS.items():
        lines.append(f"{name:<36} classical{'':<4} {est.description}")
    return "\n".join(lines)
