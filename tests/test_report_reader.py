"""The reader's report on the repository's own data: findings first, a section per race reachable from an index,
the newer run tables (decomposition, runoff forecasts, LOO comparison, interval coverage) shown when a run has them,
and the layout checked in headless Chromium at 1280x800."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; tests never open a window
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from model.dataset.raw import load_raw
from model.dataset.snapshot import write_snapshot
from model.dataset.tables import clean_data
from model.outputs.report import write_report
from model.outputs.report.race_data import race_anchor, race_key

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
RUN_ID = "default-111111111111"
# A main model this branch's registry does not have: the report must take the name and label from the manifest.
MAIN = "vote_share_candidate_aware"
OTHER = "vote_share_latent"
DECOMPOSED = ("2017-05-16-D4", "nick-melvoin", "steve-zimmer")
STEPS = ("primary", "carry_over", "consolidation", "money", "backing", "electorate", "fitted", "residual", "actual")
EFFECTS = (
    ("support IE, doubling", 1.8, 0.6, 2.9, 0.99),
    ("support IE, per $100k", 0.3, 0.1, 0.6, 0.99),
    ("oppose IE, doubling", 0.1, -1.4, 1.7, 0.55),
    ("oppose IE, per $100k", 0.0, -0.3, 0.3, 0.55),
    ("incumbent", 4.9, -1.0, 10.6, 0.92),
    ("UTLA endorsement", 4.0, -1.3, 9.3, 0.85),
    ("CCSA endorsement", 3.9, -4.7, 11.9, 0.75),
    ("UTLA endorsement x on-cycle election", 0.2, -8.4, 8.9, 0.52),
)


def modelled_rows() -> pd.DataFrame:
    """The clean rows of every race-round whose shares are all known (what a fit would model)."""
    cr = pd.read_csv(REPO / "data" / "clean" / "candidate_races.csv")
    complete = cr.groupby("race_id").vote_share.transform(lambda s: s.notna().all() and len(s) > 1)
    return cr[complete.astype(bool)].reset_index(drop=True)


def counterfactuals(rows: pd.DataFrame) -> pd.DataFrame:
    """Fitted and what-if shares near the actual ones, in percent."""
    out = rows[["race_id", "candidate_id", "name", "vote_share", "outcome"]].copy()
    for label, shift in (("fitted", 0.0), ("equal_spending", 2.0), ("no_negative_ads", -1.0)):
        share = 100 * out.vote_share.to_numpy() + shift
        out[f"share_{label}"], out[f"share_{label}_lo"], out[f"share_{label}_hi"] = share, share - 6, share + 6
        out[f"p_first_{label}"] = expit((share - 40) / 5)
        if label != "fitted":
            out[f"delta_{label}"], out[f"delta_{label}_lo"], out[f"delta_{label}_hi"] = shift, shift - 3, shift + 3
            out[f"p_delta_{label}_negative"] = 0.3
    return out


def loco(models: list[str], races: int, scope: str) -> pd.DataFrame:
    """A leave-one-cycle-out summary with calibrated baselines and interval coverage for the Bayesian models."""
    rows = []
    for k, m in enumerate(models):
        bayes = m in (MAIN, OTHER)
        rows.append(
            {
                "scope": scope,
                "model": m,
                "races": races,
                "log_score": -0.6 - 0.05 * k,
                "brier": 0.4 + 0.02 * k,
                "accuracy": 0.75 - 0.05 * k,
                "coverage50": 0.48 if bayes else np.nan,
                "coverage90": 0.88 if bayes else np.nan,
            }
        )
    return pd.DataFrame(rows)


def tiny_png(path: Path) -> None:
    """A small PNG for the run's own figures."""
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1], [0, 1])
    fig.savefig(path, dpi=40)
    plt.close(fig)


def write_run(runs: Path, full: bool = True) -> Path:
    """A run of the repository's data with every table the report reads; full adds the newer optional tables."""
    run = runs / RUN_ID
    (run / "figures").mkdir(parents=True)
    rows = modelled_rows()
    manifest = {
        "run_id": RUN_ID,
        "priors_preset": "default",
        "priors": {"beta_support": {"dist": "normal", "mu": 0.0, "sigma": 0.5}},
        "main_model": MAIN,
        "models": {
            MAIN: {"kind": "bayes", "status": "fitted", "label": "Bayes: candidate-aware", "position": 0},
            OTHER: {"kind": "bayes", "status": "fitted", "label": "Bayes: latent money", "position": 1},
        },
        "endorsement_terms": [
            {"endorser": "UTLA", "term": "utla", "label": "UTLA endorsement", "used": True},
            {"endorser": "CCSA", "term": "ccsa", "label": "CCSA endorsement", "used": True},
        ],
        "diagnostics_passed": True,
        "data_hash": "abc",
        "sampler": {},
    }
    (run / "manifest.json").write_text(json.dumps(manifest))
    # What a fit keeps of the repository's data for its report (model/fit.py keep_inputs).
    write_snapshot(clean_data(load_raw(REPO / "data" / "raw")), run / "data")
    shutil.copy(REPO / "analysis" / "claims.toml", run / "claims.toml")
    pd.DataFrame(
        [("max R-hat (rank-normalised)", 1.004, "<= 1.01", True, m) for m in (MAIN, OTHER)],
        columns=["check", "value", "threshold", "passed", "model"],
    ).to_csv(run / "diagnostics.csv", index=False)
    pd.DataFrame(
        [(m, *e, 616_353.0) for m in (MAIN, OTHER) for e in EFFECTS],
        columns=["model", "effect", "mean_pp", "lo_pp", "hi_pp", "p_positive", "reference_usd"],
    ).to_csv(run / "effects.csv", index=False)
    pd.DataFrame(columns=["model", "term", "coef", "se", "lo90", "hi90", "nobs", "note"]).to_csv(
        run / "coefficients-regression.csv", index=False
    )
    pd.DataFrame(
        [("beta_support", 0.05, 0.02, 0.02, 0.08, MAIN)], columns=["term", "mean", "sd", "lo90", "hi90", "model"]
    ).to_csv(run / "coefficients-bayes.csv", index=False)
    counterfactuals(rows).to_csv(run / "counterfactuals.csv", index=False)
    rows.to_csv(run / "model_rows.csv", index=False)
    ratio = np.geomspace(1 / 16, 16, 9)
    pd.DataFrame({"ratio": ratio, "p_win_mean": expit(np.log(ratio) / 3), "p_win_lo": 0.2, "p_win_hi": 0.8}).to_csv(
        run / "win_probability.csv", index=False
    )
    baselines = ["incumbent wins", "incumbent wins (calibrated)", "primary leader wins the runoff (calibrated)"]
    n_races = rows.race_id.nunique()
    loco(["head_to_head", MAIN, OTHER, *baselines], n_races, "all races").to_csv(run / "loco-summary.csv", index=False)
    for name in ("effects.png", "win_probability.png"):
        tiny_png(run / "figures" / name)
    if full:
        for name in ("decomposition.png", "calibration-loco.png"):
            tiny_png(run / "figures" / name)
        race, focus, rival = DECOMPOSED
        pd.DataFrame(
            [(race, focus, rival, s, f"step {s}", 1.0 + k, k - 2.0, k + 4.0) for k, s in enumerate(STEPS)],
            columns=["race_id", "candidate_id", "opponent_id", "step", "label", "mean_pp", "lo_pp", "hi_pp"],
        ).to_csv(run / "decomposition.csv", index=False)
        pd.DataFrame(
            [
                (MAIN, 0, -120.0, 9.0, 0.0, 0.8, 6.0, 0.0, False, 0.5),
                (OTHER, 1, -124.0, 8.0, 4.0, 0.2, 6.5, 2.1, False, 0.6),
            ],
            columns=["model", "rank", "elpd", "p", "elpd_diff", "weight", "se", "dse", "warning", "max_pareto_k"],
        ).to_csv(run / "model-comparison.csv", index=False)
        loco([MAIN, OTHER, *baselines], 14, "runoff forecast").to_csv(run / "runoff-forecast-summary.csv", index=False)
        d4 = rows[rows.race_id == race]
        pd.DataFrame(
            {"race_id": race, "candidate_id": d4.candidate_id, "rank": d4["rank"], "model": MAIN, "p_first": 0.5}
        ).assign(first=lambda f: (f["rank"] == 1).astype(int)).to_csv(
            run / "runoff-forecast-predictions.csv", index=False
        )
    (runs / "LATEST").write_text(RUN_ID + "\n")
    return run


@pytest.fixture(scope="module")
def reader(tmp_path_factory) -> dict:
    """The report of a full run of the repository's data (rendered once for the module's tests)."""
    tmp = tmp_path_factory.mktemp("reader")
    write_run(tmp / "runs")
    md, page = write_report(tmp / "runs", tmp / "out", root=REPO)
    return {"md": md.read_text(), "html": page.read_text(), "page": page, "tmp": tmp}


def section(md: str, heading: str) -> str:
    """The Markdown of one section: from its heading line to the next heading of the same or a higher level."""
    level = heading.split(" ", 1)[0]
    body = md.split(heading + "\n", 1)[1]
    return re.split(rf"\n#{{1,{len(level)}}} ", body, maxsplit=1)[0]


def test_findings_open_the_report_with_numbers_intervals_and_links(reader):
    """5 to 8 sentences plus the caveat, before any other section; each effect sentence carries a number, its 90 %
    interval and a link to its detail; the caveat says money is not randomly assigned."""
    md = reader["md"]
    assert md.index("## What we found") < md.index("\n## 1 ")
    items = [line for line in section(md, "## What we found").splitlines() if line.startswith("- ")]
    assert 6 <= len(items) <= 9, items
    for item in items:
        assert re.search(r"\]\(#[\w-]+\)", item), item
    effects = [i for i in items if "points" in i]
    assert len(effects) >= 5
    for item in effects:
        assert re.search(r"[+−]\d+\.\d points \(90 % interval [+−]\d+\.\d to [+−]\d+\.\d\)", item), item
    assert any("not randomly assigned" in i for i in items)
    money = next(i for i in items if i.startswith("- **Money for"))
    assert "+1.8 points" in money and "$100k with +0.3" in money


def test_every_modelled_race_round_has_a_race_section_linked_from_the_index(reader):
    """Each race-round of the run belongs to a race section whose anchor exists and is linked from the index."""
    page = reader["html"]
    ids = set(re.findall(r'\bid="([^"]+)"', page))
    index = page.split('id="races"', 1)[1].split("<h3", 1)[0]
    linked = set(re.findall(r'href="#(race-[^"]+)"', index))
    for race_id in set(modelled_rows().race_id):
        anchor = race_anchor(race_key(race_id))
        assert anchor in ids and anchor in linked, race_id
        assert race_id[:10] in page.split(f'id="{anchor}"', 1)[1].split("<h3", 1)[0], race_id


def test_a_race_section_shows_rounds_money_kinds_sources_claims_and_the_model(reader):
    """2020 District 3: both rounds, 'at least' figures with source links, the model's share, the press claims."""
    body = section(reader["md"], "### 2020, District 3")
    assert "#### primary, 2020-03-03" in body and "#### runoff, 2020-11-03" in body
    assert "at least $" in body and "model's share % [90 %]" in body
    assert "Press claims about this race" in body and "how it was tested](#claim-" in body
    figure_rows = [r for r in body.splitlines() if re.match(r"\| (for|against) [A-Z]", r)]
    assert figure_rows and all("](https://" in r or "](http://" in r for r in figure_rows)
    assert "Sources of the numbers above" in body


def test_newer_run_tables_appear_when_the_run_has_them(reader):
    """Decomposition on Melvoin's runoff, his forecast from earlier races, the LOO comparison, interval coverage and
    calibrated baselines, all under the manifest's main model."""
    d4 = section(reader["md"], "### 2017, District 4")
    assert "From primary to runoff" in d4 and all(f"| {s} | step {s} |" in d4 for s in STEPS)
    assert "Forecast from earlier races only" in d4
    skill = section(reader["md"], "## 4 Predicting races the model has not seen")
    assert "90 % interval covers" in skill and "88 %" in skill and "incumbent wins (calibrated)" in skill
    assert "Forecasting each runoff from earlier races only" in skill and "ELPD" in skill
    assert "Bayes: candidate-aware (main)" in skill and "calibration-loco.png" in skill
    assert "decomposition.png" in section(reader["md"], "## 3 Race by race")
    assert "Bayes: candidate-aware" in section(reader["md"], "## What we found")


def test_the_report_degrades_without_the_newer_tables(tmp_path):
    """A run without decomposition, forecasts or LOO comparison renders, and says nothing about them."""
    write_run(tmp_path / "runs", full=False)
    md, _ = write_report(tmp_path / "runs", tmp_path / "out", root=REPO)
    text = md.read_text()
    assert "### 2017, District 4" in text
    assert "From primary to runoff" not in text and "Forecast from earlier races only" not in text
    assert "Which vote-share model predicts left-out races best" not in text
    assert "decomposition.png" not in text and "calibration-loco.png" not in text


def chromium() -> str | None:
    """Path of a Chromium binary, if one is installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


# Measures the laid-out page and writes the numbers into the DOM for --dump-dom (added to a test copy only: the
# report itself has no scripts).
MEASURE = """<script>
window.addEventListener('load', () => {
  const appendix = document.getElementById('data');
  const before = el => !!(el.compareDocumentPosition(appendix) & Node.DOCUMENT_POSITION_FOLLOWING);
  const list = document.querySelector('#findings + p + ul');
  const out = {
    viewport: [window.innerWidth, window.innerHeight],
    findings_bottom: list.getBoundingClientRect().bottom + window.scrollY,
    wide_tables: [...document.querySelectorAll('div.scroll')].filter(before)
      .filter(d => d.scrollWidth > d.clientWidth + 1)
      .map(d => d.querySelector('th').textContent + ': ' + d.scrollWidth + ' > ' + d.clientWidth),
    main_tables: [...document.querySelectorAll('div.scroll')].filter(before).length,
    images: document.images.length,
    missing_alt: [...document.images].filter(i => !(i.getAttribute('alt') || '').trim()).length,
    broken_links: [...document.querySelectorAll('a[href^="#"]')]
      .filter(a => !document.getElementById(a.getAttribute('href').slice(1))).map(a => a.getAttribute('href')),
  };
  const pre = document.createElement('pre');
  pre.id = 'measure';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def browser(args: list[str], url: str) -> subprocess.CompletedProcess:
    """Headless Chromium at 1280x800 on url."""
    flags = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1280,800"]
    return subprocess.run([*flags, *args, url], capture_output=True, text=True, timeout=180, check=True)


@pytest.mark.skipif(chromium() is None, reason="no chromium binary installed")
def test_in_a_1280x800_browser_findings_fit_the_first_screen_and_tables_need_no_scrolling(reader):
    """Measured in the laid-out page: the findings end within the first screen, no table before the appendix is
    wider than its box, every image has alt text, every in-page link has a target. The first screen is kept as an
    artifact."""
    measured = reader["tmp"] / "measured.html"
    measured.write_text(reader["html"].replace("</body>", MEASURE + "</body>"))
    dom = browser(["--virtual-time-budget=20000", "--dump-dom"], measured.resolve().as_uri()).stdout
    found = re.search(r'<pre id="measure">(.*?)</pre>', dom, re.DOTALL)
    assert found, "the measuring script did not run"
    m = json.loads(html.unescape(found.group(1)))
    assert m["viewport"][0] == 1280, m["viewport"]
    # The first screen is the page's viewport: a 1280x800 window shows about 710 px of page below its own bars.
    assert m["findings_bottom"] <= min(m["viewport"][1], 800), m
    assert m["main_tables"] > 20 and m["wide_tables"] == [], m["wide_tables"]
    assert m["images"] >= 4 and m["missing_alt"] == 0
    assert m["broken_links"] == []
    shot = reader["tmp"] / "first-screen.png"
    browser([f"--screenshot={shot}"], reader["page"].resolve().as_uri())
    assert shot.is_file() and shot.stat().st_size > 10_000
    ARTIFACTS.mkdir(exist_ok=True)  # test-artifacts/ is ignored by git; kept for a person to look at
    shutil.copy(shot, ARTIFACTS / "report-first-screen-1280x800.png")


def test_money_by_side_puts_only_the_sides_with_an_at_least_figure_among_the_floors():
    """Ann's charter money rests on an 'at least' figure, her union money does not; Bob's 'other' money is what his
    total holds beyond union and charter. Sums per year and side, split into known and floor parts."""
    from model.outputs.figures import money_by_side

    cr = pd.DataFrame(
        {
            "race_id": ["2020-11-03-D3", "2020-11-03-D3"],
            "candidate_id": ["ann", "bob"],
            "cycle": [2020, 2020],
            "support_usd": [300.0, 500.0],
            "oppose_usd": [0.0, 100.0],
            "support_union_usd": [100.0, 0.0],
            "support_charter_usd": [200.0, 0.0],
            "oppose_union_usd": [0.0, 100.0],
            "oppose_charter_usd": [0.0, 0.0],
            "money_bounds": ["at_least;exact", "exact"],
        }
    )
    floors = pd.DataFrame({"race_id": ["2020-11-03-D3"], "candidate_id": ["ann"], "side": ["charter or reform"]})
    got = money_by_side(cr, floors).set_index("side")
    assert got.loc["charter or reform", ["known", "at_least"]].tolist() == [0.0, 200.0]
    assert got.loc["union", ["known", "at_least"]].tolist() == [200.0, 0.0]
    assert got.loc["other or not attributed", ["known", "at_least"]].tolist() == [500.0, 0.0]
    # Without the raw figures every side of a candidate-round with any 'at least' figure counts as a floor.
    rough = money_by_side(cr).set_index("side")
    assert rough.loc["union", ["known", "at_least"]].tolist() == [100.0, 100.0]
