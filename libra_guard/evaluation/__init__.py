"""Libra-Test evaluation: the paper's scoring rule, its metrics, and the runs that apply them.

``score_text`` and ``compute_metrics`` reproduce the paper's evaluation script;
``evaluate_model`` and ``evaluate_predictions`` run it end to end and write ``metrics.json``,
``predictions.jsonl`` and two figures.
"""

from libra_guard.evaluation.metrics import compute_metrics
from libra_guard.evaluation.runner import evaluate_model, evaluate_predictions
from libra_guard.evaluation.scoring import score_text

__all__ = ["compute_metrics", "evaluate_model", "evaluate_predictions", "score_text"]
