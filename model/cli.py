"""Command line: `python -m model {data,fit,report,whatif,models}`."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from model.inference.samplers import SAMPLERS
from model.infra.errors import UserError
from model.infra.parallel import add_arguments
from model.infra.paths import BUNDLED_RAW


def main(argv: list[str] | None = None) -> int:
    """Run a sub-command; user errors print one line and return 2."""
    parser = argparse.ArgumentParser(prog="python -m model")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("data", help="validate data/raw, build data/clean and data/COVERAGE.md")
    p.add_argument("--raw", type=Path, default=Path("data/raw"))
    p.add_argument("--out", type=Path, default=Path("data/clean"))
    p.add_argument("--coverage", type=Path, default=Path("data/COVERAGE.md"))
    p.add_argument(
        "--audit",
        type=int,
        metavar="N",
        help="instead of building, print N random cells of the raw data with file, line, value and source URLs",
    )
    p.add_argument("--seed", type=int, default=20260305, help="seed of the --audit sample")
    f = sub.add_parser("fit", help="fit every model; write runs/<run-id>/ and figures/")
    f.add_argument("--raw", type=Path, default=Path("data/raw"))
    f.add_argument("--priors", default="default", help="preset name (default, skeptical, literature) or a .toml path")
    f.add_argument("--seed", type=int, default=20260305)
    f.add_argument("--runs", type=Path, default=Path("runs"))
    f.add_argument(
        "--figures",
        type=Path,
        help="where to copy the run's figures (default: figures/ for the bundled data, else RUNS/figures)",
    )
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
        "--exact",
        action="store_true",
        help="refit every leave-one-cycle-out fold, forecast date and prior preset (no importance sampling)",
    )
    f.add_argument(
        "--validate",
        action="store_true",
        help="fit as usual and with --exact, then compare the two (exit 1 beyond tolerance)",
    )
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
        help="leave out secondary steps: loco (leave one cycle out), forecast (runoff forecast), sweep (prior sweep), "
        "unknown (the refit without money rows of unknown kind)",
    )
    add_arguments(f)
    r = sub.add_parser("report", help="render reports/report.md and report.html from the latest run (never refits)")
    r.add_argument("--runs", type=Path, default=Path("runs"))
    r.add_argument(
        "--out", type=Path, help="where to write the report (default: reports/, or RUNS/reports for other runs)"
    )
    r.add_argument(
        "--force", action="store_true", help="render even when the report there is from the same run, code and data"
    )
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
    pr = sub.add_parser("priors", help="print analysis/priors/default.toml as model/priors.py generates it")
    pr.add_argument("--write-default", action="store_true", help="write it to analysis/priors/default.toml")
    wm = sub.add_parser("warm", help="compile every model of a default fit once, filling PyTensor's disk cache")
    wm.add_argument("--raw", type=Path, default=Path("data/raw"))
    args = parser.parse_args(argv)
    try:
        if args.command == "data" and args.audit is not None:
            from model.dataset.audit import format_cells, sample_cells

            if args.audit < 1:
                raise UserError(f"--audit needs a positive number of cells, got {args.audit}")
            print(format_cells(sample_cells(args.raw, args.audit, args.seed)))
        elif args.command == "data":
            from model.dataset.build import build_all

            summary = build_all(args.raw, args.out, args.coverage)
            print(summary)
        elif args.command == "fit":
            return _fit(args)
        elif args.command == "whatif":
            print(_whatif(args))
        elif args.command == "models":
            print(models_listing())
        elif args.command == "priors":
            from model.priors import default_toml, write_default_toml

            print(f"wrote {write_default_toml()}" if args.write_default else default_toml(), end="\n")
        elif args.command == "warm":
            warm(args.raw)
        elif args.command == "report":
            _report(args)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def _report(args: argparse.Namespace) -> None:
    """Run `report`: render, unless the folder's report is from exactly these inputs (checked before the report
    code, which takes seconds to import, is loaded)."""
    from model.infra.atomic import recover_all
    from model.outputs.freshness import mark_current, report_inputs_hash, report_is_current

    recover_all(args.runs)  # a fit killed mid-swap: its previous run comes back before it is read
    out = args.out or default_output(args.runs, "reports")
    now = data_now(args.runs)
    if not args.force and report_is_current(out, report_inputs_hash(args.runs, Path("."), out, now)):
        print(f"{out / 'report.html'} is up to date (same run, code and data; --force renders it again)")
        return
    from model.outputs.report import write_report

    md, page = write_report(args.runs, out, data_now=now)
    mark_current(out, report_inputs_hash(args.runs, Path("."), out, now))
    print(f"wrote {md} and {page}")


def default_output(runs: Path, kind: str, raw: Path | None = None) -> Path:
    """figures/ or reports/ of the repository for a run of the bundled data in runs/, else a folder beside the runs,
    so that a bring-your-own run never overwrites the bundled figures and report. raw: the fitted data directory
    (default: the one the latest run's manifest records)."""
    if raw is None:
        import json

        from model.outputs.freshness import latest_run_dir

        manifest = json.loads((latest_run_dir(runs) / "manifest.json").read_text(encoding="utf-8"))
        raw = Path(manifest.get("data_dir") or BUNDLED_RAW)
    bundled = runs == Path("runs") and raw.resolve() == BUNDLED_RAW.resolve()
    return Path(kind) if bundled else runs / kind


def data_now(runs: Path) -> dict[str, str] | None:
    """The hash of each file of the latest run's data directory today (None when the manifest names none): the
    report compares them with the run's and says when the data changed; it reads nothing but the run folder."""
    import json

    from model.infra.provenance import raw_file_hashes
    from model.outputs.freshness import latest_run_dir

    manifest = json.loads((latest_run_dir(runs) / "manifest.json").read_text(encoding="utf-8"))
    return raw_file_hashes(Path(manifest["data_dir"])) if manifest.get("data_dir") else None


def _fit(args: argparse.Namespace) -> int:
    """Run `fit`; copy the run's figures to the stable figures/ folder."""
    from model.fit import SamplerSettings, run_fit
    from model.inference.samplers import require_sampler
    from model.infra.atomic import write_bytes

    require_sampler(args.sampler)  # before anything is written: a missing JAX extra stops here
    if not sys.stderr.isatty():
        # On a terminal PyMC's progress and variable lists help; in CI and logs they bury the result lines.
        logging.getLogger("pymc").setLevel(logging.WARNING)
    draw_count = {} if args.draws is None else {"draws": args.draws}
    settings = SamplerSettings(sampler=args.sampler, chains=args.chains, tune=args.tune, **draw_count)
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
        exact=args.exact and not args.validate,
    )
    if args.validate:
        return _validate(args, settings, run_dir)
    figures = args.figures or default_output(args.runs, "figures", args.raw)
    figures.mkdir(parents=True, exist_ok=True)
    for png in sorted((run_dir / "figures").glob("*.png")):
        write_bytes(figures / png.name, png.read_bytes())
    print(f"run {run_dir} ({'diagnostics passed' if passed else 'DIAGNOSTICS FAILED: see diagnostics.csv'})")
    if not passed:
        import pandas as pd

        from model import models
        from model.inference.diagnostics import failure_line

        checks = pd.read_csv(run_dir / "diagnostics.csv")
        failed = checks[~checks.passed.astype(bool)]
        model = str(failed.model.iloc[0]) if len(failed) and "model" in failed else ""
        draws = settings.draws or (models.get(model).draws if model in models.REGISTRY else 2000)
        line = failure_line(checks, draws)
        print(line or "no model was fitted", file=sys.stderr)
    return 1 if args.strict and not passed else 0


def _validate(args: argparse.Namespace, settings, approx_dir: Path) -> int:
    """Refit every fold, date and preset exactly and compare with the approximate run; 1 beyond tolerance."""
    import pandas as pd

    from model.evaluation.validate import TOLERANCE, validate_runs
    from model.fit import run_fit

    exact_dir, _passed = run_fit(
        args.raw, args.priors, args.seed, args.runs, settings, models_to_fit=args.models,
        skip=frozenset(args.skip), workers=args.workers, scheduler=args.scheduler, exact=True, reuse=not args.refit,
    )  # fmt: skip
    tables, ok = validate_runs(approx_dir, exact_dir)
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.max_rows", 200):
        for label, table in tables.items():
            table.to_csv(exact_dir / f"validation-{label.replace(' ', '-')}.csv", index=False)
            print(f"\n{label}: approximate ({approx_dir.name}) against exact ({exact_dir.name})\n{table}")
    bad = {label: int((~t.within_tolerance).sum()) for label, t in tables.items()}
    print(f"\ntolerance {TOLERANCE}; outside it: {bad}")
    return 0 if ok else 1


def warm(raw: Path) -> None:
    """Compile each model of a default fit on this data (make setup does it for the bundled data): PyTensor keeps
    the numba code on disk, so the first `make fit` loads it instead of compiling (the numbers are the same
    either way: tests/test_determinism.py)."""
    import time

    from model import models
    from model.dataset.terms import load_terms
    from model.inference.sampling import compiled_nutpie
    from model.models.base import load_inputs
    from model.priors import load_priors, resolve_preset

    inputs = load_inputs(raw)
    priors = load_priors(resolve_preset("default"), load_terms(raw))
    for _position, model in models.bayesian():
        if model.cannot_run(inputs):
            continue
        t0 = time.perf_counter()
        compiled_nutpie(model.build(inputs, priors))
        print(f"compiled {model.name} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)


def _whatif(args: argparse.Namespace) -> str:
    """Run `whatif` on the latest run: the table, the price of an even chance, and the caveat."""
    import pandas as pd

    from model.evaluation import whatif
    from model.outputs.freshness import latest_run_dir

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
    from model import models
    from model.models import classical

    main = models.main_name()
    lines = []
    for m in models.REGISTRY.values():
        flag = " (main)" if m.name == main else "" if m.in_default_fit else " (asked)"
        lines.append(f"{m.name:<36} bayes{flag:<8} {m.description}")
    for name, est in classical.ESTIMATORS.items():
        lines.append(f"{name:<36} classical{'':<4} {est.description}")
    return "\n".join(lines)
