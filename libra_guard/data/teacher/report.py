"""Counts per stage and subcategory, drop reasons and request costs of a teacher run; the
same figures go to a JSON file beside the output and to an MLflow run."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Mapping

from libra_guard.data.taxonomy import SUBCATEGORIES

#: The MLflow experiment teacher runs log to.
TEACHER_EXPERIMENT = "libra-guard-teacher"


def by_subcategory(items: list[dict]) -> dict[str, int]:
    """Items per ``scenario/subcategory``, every one of the 39 listed (zeros included)."""
    counts = Counter(f"{item['scenario']}/{item['subcategory']}" for item in items)
    return {
        f"{scenario}/{sub}": counts.get(f"{scenario}/{sub}", 0) for scenario, sub in SUBCATEGORIES
    }


def agreement_summary(judged: list[dict], kept: list[dict]) -> dict:
    """How the agreement filter treated the judged answers."""
    unusable = sum(1 for row in judged if "judge0_problem" in row or "judge1_problem" in row)
    disagreed = len(judged) - unusable - len(kept)
    total = len(judged)
    return {
        "judged_answers": total,
        "kept": len(kept),
        "disagreed": disagreed,
        "unusable_judgement": unusable,
        "dropped_share": round((total - len(kept)) / total, 4) if total else 0.0,
        "disagreed_share": round(disagreed / total, 4) if total else 0.0,
    }


def build_report(
    n: int,
    stages: Mapping[str, list[dict]],
    dropped: list[dict],
    costs: Mapping[str, Counter],
    outputs: Mapping[str, str],
) -> dict:
    """The run's report (plain JSON types)."""
    reasons = Counter(f"{row['stage']}: {row['reason']}" for row in dropped)
    return {
        "n": n,
        "stages": {
            name: {"rows": len(items), "by_subcategory": by_subcategory(items)}
            for name, items in stages.items()
        },
        "dropped_by_reason": dict(sorted(reasons.items())),
        "agreement": agreement_summary(stages["judged"], stages["agreed"]),
        "costs": {role: dict(cost) for role, cost in sorted(costs.items())},
        "outputs": dict(outputs),
    }


def metric_name(text: str) -> str:
    """A name MLflow accepts (letters, digits, ``_-. :/``); brackets become underscores."""
    return re.sub(r"[^\w\-. :/]", "_", text).strip("_")


def log_to_mlflow(report: dict, params: Mapping[str, object], tracking_uri: str | None) -> str:
    """Log the report as metrics, params and a JSON artifact in a new run; its id."""
    from mlflow.entities import Metric, Param

    from libra_guard.tracking.store import client, ensure_experiment

    experiment_id = ensure_experiment(TEACHER_EXPERIMENT, tracking_uri=tracking_uri)
    mlflow = client(tracking_uri)
    run = mlflow.create_run(experiment_id, run_name=f"synth-llm n={report['n']}")
    run_id = run.info.run_id
    metrics = {f"rows.{name}": stage["rows"] for name, stage in report["stages"].items()}
    for index, count in enumerate(report["stages"]["agreed"]["by_subcategory"].values()):
        metrics[f"kept_by_subcategory.{index:02d}"] = count
    metrics.update({f"agreement.{key}": value for key, value in report["agreement"].items()})
    for role, cost in report["costs"].items():
        metrics.update({f"cost.{metric_name(role)}.{key}": value for key, value in cost.items()})
    now = int(time.time() * 1000)
    mlflow.log_batch(
        run_id,
        metrics=[Metric(name, float(value), now, 0) for name, value in metrics.items()],
        params=[Param(metric_name(name), str(value)[:500]) for name, value in params.items()],
    )
    mlflow.log_dict(run_id, report, "teacher_report.json")
    mlflow.set_terminated(run_id)
    return run_id
