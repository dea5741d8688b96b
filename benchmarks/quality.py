"""Quality benchmark: the guard against a TF-IDF + logistic-regression baseline.

Both are trained on exactly the same rows and scored with the paper's metrics (accuracy,
F1-safe, F1-unsafe) on the same test sets, side by side in one run:

(a) transfer: trained on synthetic data only (stage 1 default flavour, stage 2 hard flavour),
    tested on all of ``jade-v3-medium`` -- how well the synthetic stage carries to real text;
(b) real fine-tuning: stage 1 synthetic, stage 2 on 80% of ``jade-v3-medium`` (split by
    question); tested on the other 20% and on a held-out synthetic set;
(c) unseen topics: as (b), but 20% of JADE's subcategories are held out whole and tested on.

Each scenario is one ``train_guard`` run, as ``libra-guard train`` with the same rows: its own
base (the tokenizer is built from both stages' rows), stage 1, stage 2 and the final model.
The guard is the tiny preset trained as ``configs/quality.yaml`` says (longer, full fine-tuning
and stage-1 rehearsal in stage 2, stage-2 weights picked on a validation split of the stage-2
TRAINING questions) unless ``--config`` names another training config; ``--preset small``
trains the larger CPU preset instead. Every choice (epochs, rates, the kept checkpoint) is made
without the test sets; the baseline fits every training row (its C is fixed, nothing tuned).
The real data is read from ``../shared/data``; without it the benchmark says so and stops.

Usage::

    .venv/bin/python benchmarks/quality.py                      # ~12-25 min on 2 idle CPU cores
    .venv/bin/python benchmarks/quality.py --seeds 3 --scenarios bc   # (b) and (c) only
    .venv/bin/python benchmarks/quality.py --preset small       # the larger CPU preset
    .venv/bin/python benchmarks/quality.py --out /tmp/quality --stage1-rows 3000
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.baseline import TfidfBaseline  # noqa: E402
from benchmarks.quality_summary import summarize, summary_lines  # noqa: E402
from benchmarks.subcategory_split import split_by_subcategory  # noqa: E402
from libra_guard.data.dedup import content_key  # noqa: E402
from libra_guard.data.io import read_rows  # noqa: E402
from libra_guard.data.schema import GuardRow  # noqa: E402
from libra_guard.data.split import split_by_question  # noqa: E402
from libra_guard.data.synth import generate  # noqa: E402
from libra_guard.evaluation.metrics import compute_metrics  # noqa: E402
from libra_guard.evaluation.runner import evaluate_model  # noqa: E402
from libra_guard.training.config import TrainConfig, load_train_config  # noqa: E402
from libra_guard.training.runner import train_guard  # noqa: E402

JADE = REPO_ROOT.parent / "shared" / "data" / "jade-v3-medium.jsonl"
FIGURES = ("accuracy", "f1_safe", "f1_unsafe")
console = Console()


def main() -> int:
    args = _parse_args()
    if not JADE.is_file():
        console.print(f"[yellow]skipped:[/] {JADE} is absent (real data lives in ../shared/data)")
        return 0
    out = Path(args.out)
    jade = read_rows(JADE)[: args.jade_rows or None]
    config = load_train_config(Path(args.config) if args.config else None, base=args.preset)
    per_seed: dict[int, dict] = {}
    for seed in range(args.seed, args.seed + args.seeds):
        console.rule(f"seed {seed}")
        per_seed[seed] = run_seed(seed, args, jade, config, out / f"seed-{seed}")
        _print_table(per_seed[seed], args.mode, config.base)
    summary = summarize(per_seed)
    _print_summary(summary, len(per_seed))
    report = {"seeds": list(per_seed), "per_seed": per_seed, "summary": summary}
    (out / "quality.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    console.print(f"results: {out / 'quality.json'}")
    return 0


def run_seed(seed: int, args, jade: list[GuardRow], config, out: Path) -> dict:
    """Every scenario with one seed: data generation, splits, the guard's initialisation and
    batch order, and the baseline all follow it."""
    config = TrainConfig.model_validate(
        {
            **config.model_dump(exclude_unset=True),
            "seed": seed,
            "tiny": config.preset_dims().model_copy(update={"seed": seed}).model_dump(),
        }
    )
    stage1 = generate(args.stage1_rows, seed).rows
    hard = generate(args.stage2_rows, seed + 1, hard=True).rows
    synth_test = _held_out(generate(args.test_rows, seed + 7).rows, [*stage1, *hard])
    jade_train, jade_test = split_by_question(jade, 0.2, seed)
    far_train, far_test = split_by_subcategory(jade, 0.2, seed)
    scenarios = {
        "a": ("synthetic only", stage1, hard, {"jade-v3-medium (all)": jade}),
        "b": (
            "synthetic + 80% JADE",
            stage1,
            jade_train,
            {"jade-v3-medium (20% held out)": jade_test, "synthetic (held out)": synth_test},
        ),
        "c": (
            "synthetic + JADE without 20% of its subcategories",
            stage1,
            far_train,
            {"jade-v3-medium (held-out subcategories)": far_test},
        ),
    }
    results: dict[str, dict] = {}
    for key, (title, rows1, rows2, tests) in scenarios.items():
        if key not in args.scenarios:
            continue
        console.rule(f"({key}) {title}: stage 1 {len(rows1)} rows, stage 2 {len(rows2)} rows")
        started = time.perf_counter()
        # Each scenario trains as `libra-guard train` does, base included: the base's tokenizer
        # is built from both stages' rows, so (b) and (c) read JADE's training text with a
        # vocabulary that has seen it (a stage 1 shared with (a) would not have).
        outcome = train_guard(config, rows1, rows2, out / key / "model", log=console.print)
        train_s = time.perf_counter() - started
        baseline = TfidfBaseline().fit([*rows1, *rows2])
        for test_name, test_rows in tests.items():
            guard_metrics = evaluate_model(
                outcome.final_dir,
                test_rows,
                out / key / "eval" / _slug(test_name),
                mode=args.mode,
                with_scores=True,
            )
            base_metrics = compute_metrics(
                test_rows, baseline.predict(test_rows), baseline.scores(test_rows)
            )
            results[f"({key}) {test_name}"] = {
                "guard": _headline(guard_metrics),
                "baseline": _headline(base_metrics),
                "n": len(test_rows),
                "train_seconds": round(train_s, 1),
                "stage2_kept_step": outcome.stages[1].best_step or outcome.stages[1].steps,
                "stage2_steps": outcome.stages[1].steps,
            }
            # Written after every test: a seed stopped later keeps what it finished.
            (out / "results.json").write_text(
                json.dumps({"seed": seed, "results": results}, indent=2), encoding="utf-8"
            )
    return results


def _headline(metrics: dict) -> dict:
    figures = {figure: metrics["average"][figure] for figure in FIGURES}
    return {**figures, "roc_auc": metrics.get("roc_auc"), "unparseable": metrics["unparseable"]}


def _held_out(rows: list[GuardRow], training: list[GuardRow]) -> list[GuardRow]:
    seen = {content_key(row) for row in training}
    return [row for row in rows if content_key(row) not in seen]


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in name).strip("-")


def _print_table(results: dict, mode: str, base: str) -> None:
    table = Table(title=f"Guard ({base}, {mode} mode) vs TF-IDF + LR, same training rows")
    table.add_column("test set")
    table.add_column("n", justify="right")
    for figure in FIGURES:
        table.add_column(f"{figure} guard", justify="right")
        table.add_column(f"{figure} base", justify="right")
    table.add_column("acc ratio guard/base", justify="right")
    for name, result in results.items():
        guard, base_fig = result["guard"], result["baseline"]
        cells = []
        for figure in FIGURES:
            cells += [f"{100 * guard[figure]:.2f}", f"{100 * base_fig[figure]:.2f}"]
        ratio = guard["accuracy"] / base_fig["accuracy"] if base_fig["accuracy"] else float("nan")
        table.add_row(name, str(result["n"]), *cells, f"{ratio:.3f}")
    console.print(table)


def _print_summary(summary: dict, seeds: int) -> None:
    console.rule(f"mean and spread over {seeds} seed(s)")
    for line in summary_lines(summary):
        console.print(line)


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(REPO_ROOT / ".libra" / "benchmarks" / "quality"))
    parser.add_argument(
        "--config",
        default=None,
        help="Training config YAML of the guard (default: the training defaults, which are "
        "configs/quality.yaml's settings).",
    )
    parser.add_argument(
        "--preset", default=None, help="Base preset or model replacing the config's (e.g. small)."
    )
    parser.add_argument("--stage1-rows", type=int, default=2000)
    parser.add_argument("--stage2-rows", type=int, default=600)
    parser.add_argument("--test-rows", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0, help="First seed.")
    parser.add_argument(
        "--seeds", type=int, default=1, help="Seeds to run (seed, seed+1, ...): mean and spread."
    )
    parser.add_argument(
        "--jade-rows", type=int, default=0, help="Use only the first N JADE rows (smoke runs)."
    )
    parser.add_argument("--mode", choices=("verdict", "generate"), default="verdict")
    parser.add_argument(
        "--scenarios",
        default="abc",
        help="Scenarios to run, e.g. 'bc' (quality_summary.py merges runs of the same seed).",
    )
    args = parser.parse_args()
    if not args.scenarios or set(args.scenarios) - set("abc"):
        parser.error(f"--scenarios takes letters of 'abc', got {args.scenarios!r}")
    return args


if __name__ == "__main__":
    raise SystemExit(main())
