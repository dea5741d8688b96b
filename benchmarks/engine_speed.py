"""Engine speed benchmark: the native DDP loop vs the Hugging Face Trainer engine, side by side.

For each preset (``tiny``, ``small`` by default), one base is built from the same synthetic rows,
then each engine trains stage 1 from it on Ray Train with the same rows, steps, batch and seed
(full fine-tuning, validation ``evals_per_epoch`` times per epoch with best-weights selection,
as the defaults train), in alternating order over ``--repeats`` rounds, so background load
falls on both. Reported per preset and engine:

- ``samples_per_s``: training samples per second inside the workers, from the first step to the
  last, data loading and validation included (both engines count it the same way:
  ``mean_samples_per_s`` of the stage); the median over the repeats, and hf / native;
- ``stage_s``: wall time of the whole stage (Ray workers, model load, training, publishing);
- ``val_accuracy``: the validation accuracy of the weights each engine kept, and
  ``test_accuracy``: the published model scored on held-out rows neither engine saw.

The issue's target: on CPU, hf within 10% of native's speed (ratio >= 0.90) with the same
quality. Usage::

    .venv/bin/python benchmarks/engine_speed.py --steps 60 --out engine_speed.json
    .venv/bin/python benchmarks/engine_speed.py --presets tiny --steps 30 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from libra_guard.data.synth.generator import generate  # noqa: E402
from libra_guard.modeling.judge import GuardJudge  # noqa: E402
from libra_guard.training.config import StageConfig, TrainConfig  # noqa: E402
from libra_guard.training.runner import prepare_base, run_stage  # noqa: E402
from libra_guard.training.selection import Validator  # noqa: E402

ENGINES = ("native", "hf")
TARGET_RATIO = 0.90


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["tiny", "small"])
    parser.add_argument("--steps", type=int, default=60, help="Training steps per stage.")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--train-rows", type=int, default=240)
    parser.add_argument("--val-rows", type=int, default=64)
    parser.add_argument("--test-rows", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=1, help="Rounds, engine order alternating.")
    parser.add_argument(
        "--hf-first", action="store_true", help="Start each preset with hf (a second run's order)."
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="Write the results as JSON.")
    return parser.parse_args(argv)


def stage_config(preset: str, engine: str, args: argparse.Namespace) -> TrainConfig:
    """The same settings for both engines; epochs chosen so the stage runs ``args.steps``."""
    steps_per_epoch = math.ceil(args.train_rows / args.batch_size)
    return TrainConfig(
        base=preset,
        engine=engine,
        seed=args.seed,
        report_every=20,
        stage1=StageConfig(
            epochs=args.steps / steps_per_epoch,
            learning_rate=2e-3,
            batch_size=args.batch_size,
            warmup_steps=5,
            checkpoint_every=10_000,  # only the final checkpoint (and hf's at validations)
            evals_per_epoch=2,
        ),
    )


def run_engine(preset, engine, args, rows, source, work: Path, round_index: int) -> dict:
    train, validation, test = rows
    out = work / f"{preset}-{engine}-{round_index}"
    config = stage_config(preset, engine, args)
    began = time.perf_counter()
    outcome = run_stage(
        "stage1", config, train, source, out, validation={"held": validation}, log=lambda _: None
    )
    stage_s = time.perf_counter() - began
    judge = GuardJudge.load(out / "stage1")
    tested = Validator({"test": test}, judge.tokenizer).score(judge.model)
    return {
        "preset": preset,
        "engine": engine,
        "round": round_index,
        "steps": outcome.steps,
        "samples_per_s": outcome.samples_per_s,
        "stage_s": round(stage_s, 1),
        "final_loss": outcome.final_loss,
        "best_step": outcome.best_step,
        "val_accuracy": outcome.best_val_accuracy,
        "test_accuracy": tested.accuracy,
    }


def summarise(runs: list[dict], presets: list[str]) -> dict:
    summary = {}
    for preset in presets:
        per_engine = {}
        for engine in ENGINES:
            mine = [run for run in runs if run["preset"] == preset and run["engine"] == engine]
            per_engine[engine] = {
                key: statistics.median(run[key] for run in mine)
                for key in ("samples_per_s", "stage_s", "val_accuracy", "test_accuracy")
            }
        ratio = per_engine["hf"]["samples_per_s"] / per_engine["native"]["samples_per_s"]
        summary[preset] = {
            **per_engine,
            "hf_over_native_samples_per_s": round(ratio, 3),
            "within_10_percent": ratio >= TARGET_RATIO,
        }
    return summary


def main(argv: list[str] | None = None) -> int:
    import ray

    args = parse_args(argv)
    total = args.train_rows + args.val_rows + args.test_rows
    all_rows = generate(total, seed=args.seed + 11).rows
    rows = (
        all_rows[: args.train_rows],
        all_rows[args.train_rows : args.train_rows + args.val_rows],
        all_rows[args.train_rows + args.val_rows :],
    )
    ray.init(address="local", include_dashboard=False, log_to_driver=False)
    runs: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="engine-speed-") as folder:
        work = Path(folder)
        for preset in args.presets:
            source = prepare_base(stage_config(preset, "native", args), rows[0], work / preset)
            for round_index in range(args.repeats):
                order = ENGINES if (round_index + args.hf_first) % 2 == 0 else ENGINES[::-1]
                for engine in order:
                    run = run_engine(preset, engine, args, rows, source, work, round_index)
                    runs.append(run)
                    print(json.dumps(run), flush=True)
    ray.shutdown()
    result = {
        "settings": {key: str(value) for key, value in vars(args).items()},
        "runs": runs,
        "summary": summarise(runs, args.presets),
    }
    print(json.dumps(result["summary"], indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
