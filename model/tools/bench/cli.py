"""`python -m model.tools.bench`: run the sections and merge them into bench/results.json."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from model.infra import atomic
from model.models.vote_share import CENTRED_MIN_INFORMATION
from model.tools.bench.fit_runs import bench_fit
from model.tools.bench.growth import bench_growth, growth_models
from model.tools.bench.settings import (
    FULL,
    GROWTH,
    GROWTH_BUDGET_S,
    GROWTH_SAMPLERS,
    MODELS,
    MULTIPLES,
    QUICK,
    SAMPLERS,
    SECTION_KEYS,
    SECTIONS,
    SEED,
    SIM_HEAD_TO_HEAD,
    SIM_MAIN,
    SIM_VOTE_SHARE,
)
from model.tools.bench.timing import bench_parallel, bench_samplers, load_average, load_inputs, machine_info


def run_bench(
    raw_dir: Path,
    quick: bool,
    seed: int = SEED,
    budget_s: float = GROWTH_BUDGET_S,
    only: list[str] | None = None,
    growth: dict | None = None,
) -> dict:
    """The benchmark sections (only: some of SECTIONS; default all) as one JSON-able dict (quick: one model, one
    sampler, 10x, no subprocess fits of make fit; growth: 'models', 'samplers', 'multiples' to run instead of all,
    'draws' and 'tune' per chain instead of GROWTH's)."""
    inputs = load_inputs(raw_dir)
    settings = QUICK if quick else FULL
    growth_settings = QUICK if quick else GROWTH
    sections = only or list(SECTIONS)
    result: dict = {
        "machine": machine_info(),
        "quick": quick,
        "seed": seed,
        "data": {
            "vote_share_candidates": len(inputs["data"].frame),
            "vote_share_races": inputs["data"].n_race,
            "head_to_head_races": int(inputs["h2h"].logit_share_a.notna().sum()),
        },
    }
    if "samplers" in sections:
        print("samplers", file=sys.stderr)
        models, samplers = (MODELS[:1], SAMPLERS[:1]) if quick else (MODELS, SAMPLERS)
        result["samplers"] = bench_samplers(inputs, models, samplers, settings, seed)
    if "fit" in sections and not quick:
        print("make fit: cold, warm, a priors edit (make iterate, make fit)", file=sys.stderr)
        with tempfile.TemporaryDirectory(prefix="bench-fit-") as work:
            result["fit"] = bench_fit(Path(raw_dir), Path(work))
    if "growth" in sections:
        print("growth", file=sys.stderr)
        # Quick: the plug-in model with nutpie (a smoke test; the main model at 10x takes minutes to compile and run).
        default_names = growth_models()[1:2] if quick else growth_models()
        names = tuple((growth or {}).get("models") or default_names)
        growth_samplers = tuple((growth or {}).get("samplers") or (GROWTH_SAMPLERS[:1] if quick else GROWTH_SAMPLERS))
        lengths = {k: (growth or {}).get(k) for k in ("draws", "tune")}
        growth_settings = dataclasses.replace(growth_settings, **{k: v for k, v in lengths.items() if v})
        result["growth_settings"] = dataclasses.asdict(growth_settings) | {
            "budget_s": budget_s,
            "models": list(names),
            "samplers": list(growth_samplers),
            "simulated_at": {"candidate-aware models": SIM_MAIN, "other vote-share models": SIM_VOTE_SHARE,
                             "head-to-head models": SIM_HEAD_TO_HEAD},
            "centred_min_information": CENTRED_MIN_INFORMATION,
            "jax_packages": _versions(("jax", "jaxlib", "numpyro", "blackjax")),
            "peak_rss": "ru_maxrss of the process that simulated, built, compiled and sampled the fit (one per fit)",
            "jax_timing": "sampling_s includes XLA's compile of the sampler (PyMC times the two together)",
        }  # fmt: skip
        multiples = (growth or {}).get("multiples") or (MULTIPLES[:1] if quick else MULTIPLES)
        result["growth"] = bench_growth(raw_dir, names, growth_samplers, multiples, growth_settings, seed, budget_s)
    if "parallel" in sections and not quick:
        print("leave-one-cycle-out at 1 and 2 workers", file=sys.stderr)
        result["parallel"] = bench_parallel(inputs, seed)
    result["machine"]["load_average_at_end"] = load_average()
    return result


def _versions(packages) -> dict[str, str | None]:
    """Installed versions of optional packages (None: not installed), read without importing them."""
    out: dict[str, str | None] = {}
    for p in packages:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = None
    return out


def merge_sections(previous: dict, result: dict, sections: list[str]) -> dict:
    """previous (an earlier bench/results.json) with the given sections replaced by result's; the machine
    record of each section says when and where that section was measured."""
    by_section = previous.get("machine_by_section") or {s: previous["machine"] for s in SECTIONS if s in previous}
    merged = {k: v for k, v in previous.items() if k not in ("machine_by_section",)}
    for section in sections:
        for key in SECTION_KEYS[section]:
            merged.pop(key, None)
            if key in result:
                merged[key] = result[key]
        by_section[section] = result["machine"]
    if "growth" in sections:
        # Growth rows are refreshed per (model, sampler, multiple): rows of other models or samplers stay.
        fresh = {_growth_key(r) for r in result["growth"]}
        kept = [_with_run_settings(r, previous.get("growth_settings", {})) for r in previous.get("growth", [])]
        merged["growth"] = [r for r in kept if _growth_key(r) not in fresh] + result["growth"]
    merged |= {k: result[k] for k in ("machine", "quick", "seed", "data")}
    merged["machine_by_section"] = by_section
    return merged


def _with_run_settings(row: dict, settings: dict) -> dict:
    """A growth row with the chain lengths and budget of the run that measured it (rows from before rows carried
    them take their run's growth_settings, which a merge replaces)."""
    keys = ("chains", "tune", "draws", "budget_s")
    return {k: settings[k] for k in keys if k in settings and k not in row} | row


def _growth_key(row: dict) -> tuple:
    """Which fit a growth row measures."""
    return row["model"], row.get("sampler", "nutpie"), row["multiple"]


def main(argv: list[str] | None = None) -> int:
    """`python -m model.tools.bench --raw DIR --out FILE [--quick] [--only SECTION ...]`: run it, write JSON."""
    parser = argparse.ArgumentParser(prog="python -m model.tools.bench", description=__doc__)
    parser.add_argument("--raw", type=Path, default=Path("data/raw"))
    parser.add_argument("--out", type=Path, default=Path("bench/results.json"))
    parser.add_argument("--quick", action="store_true", help="one model, one sampler, 1 chain x 50 draws, 10x only")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--budget", type=float, default=GROWTH_BUDGET_S, help="seconds per growth fit")
    parser.add_argument(
        "--only", nargs="+", choices=SECTIONS, help="run these sections and merge them into an existing --out"
    )
    parser.add_argument("--growth-models", nargs="+", metavar="M", help="growth: these models (default: main, plugin)")
    parser.add_argument("--growth-samplers", nargs="+", choices=GROWTH_SAMPLERS, help="growth: these samplers")
    parser.add_argument("--growth-multiples", nargs="+", type=int, metavar="K", help="growth: these multiples")
    parser.add_argument("--growth-draws", type=int, metavar="N", help=f"growth: draws per chain ({GROWTH.draws})")
    parser.add_argument("--growth-tune", type=int, metavar="N", help=f"growth: warmup per chain ({GROWTH.tune})")
    args = parser.parse_args(argv)
    growth = {"models": args.growth_models, "samplers": args.growth_samplers, "multiples": args.growth_multiples}
    growth |= {"draws": args.growth_draws, "tune": args.growth_tune}
    result = run_bench(args.raw, args.quick, args.seed, args.budget, args.only, growth)
    if args.only and args.out.exists():
        result = merge_sections(json.loads(args.out.read_text()), result, args.only)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(args.out, json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0
