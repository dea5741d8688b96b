"""Best-weights selection within a stage: score held-out validation sets, keep the best weights.

Why: the last step of a fine-tuning run is not reliably its best one. The tiny guard overfits a
few hundred real rows within a few epochs, and rehearsal trades fitting the real rows against
forgetting the synthetic stage. Choosing the weights on rows held out of the TRAINING data
(``runner.validation_holdout``) keeps every test set out of every choice.

The score is the verdict read-out the evaluation uses (P(不安全) from one forward pass, 不安全
at 0.5 or more): accuracy per validation set, then the plain mean over the sets (the paper's
headline is a plain mean over sources, too); ties go to the lower mean log-loss.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from libra_guard.data.schema import UNSAFE, GuardRow
from libra_guard.modeling.judge import GuardJudge
from libra_guard.training.checkpoint import trainable_state

BEST_WEIGHTS = "best_weights.pt"
#: Probabilities are clipped here before the log, so one confident miss cannot dominate.
MIN_PROBABILITY = 1e-6
#: Weight of the log-loss in ``ValidationResult.selection_score``.
LOG_LOSS_TIE_BREAK = 1e-9


@dataclass(frozen=True)
class ValidationResult:
    """Accuracy (mean over sets), log-loss (mean over sets) and the accuracy of each set."""

    accuracy: float
    log_loss: float
    accuracy_by_set: dict[str, float]

    def beats(self, accuracy: float, log_loss: float) -> bool:
        return (self.accuracy, -self.log_loss) > (accuracy, -log_loss)

    def selection_score(self) -> float:
        """``beats``'s order as one number, for engines that compare a single metric (the
        Hugging Face Trainer's ``metric_for_best_model``): accuracy, minus the log-loss scaled
        to stay below any accuracy step. Accuracies differ by at least 1/rows (1e-6 for a
        million rows); the log-loss of clipped probabilities is at most -ln(MIN_PROBABILITY)
        < 14, so 1e-9 of it (< 1.4e-8) only breaks ties."""
        return self.accuracy - LOG_LOSS_TIE_BREAK * self.log_loss


class Validator:
    """Scores a model on named validation sets with the verdict read-out."""

    def __init__(self, sets: Mapping[str, Sequence[GuardRow]], tokenizer, batch_size: int = 16):
        self.sets = {name: list(rows) for name, rows in sets.items() if rows}
        self.tokenizer = tokenizer
        self.batch_size = batch_size

    @classmethod
    def of_sets(cls, validation: Mapping[str, list[GuardRow]], tokenizer) -> Validator | None:
        """A validator for the named validation sets; ``None`` when there are none."""
        sets = {name: list(rows) for name, rows in (validation or {}).items() if rows}
        return cls(sets, tokenizer) if sets else None

    def score(self, model) -> ValidationResult:
        """Score ``model`` (left in eval mode; the caller switches it back to training)."""
        judge = GuardJudge(model, self.tokenizer, name="validation")
        accuracies: dict[str, float] = {}
        losses: list[float] = []
        for name, rows in self.sets.items():
            scores = judge.verdict_scores([row.pair for row in rows], batch_size=self.batch_size)
            truths = [row.label == UNSAFE for row in rows]
            hits = sum((score >= 0.5) == truth for score, truth in zip(scores, truths, strict=True))
            accuracies[name] = hits / len(rows)
            losses.append(
                -sum(
                    math.log(max(score if truth else 1.0 - score, MIN_PROBABILITY))
                    for score, truth in zip(scores, truths, strict=True)
                )
                / len(rows)
            )
        return ValidationResult(
            accuracy=sum(accuracies.values()) / len(accuracies),
            log_loss=sum(losses) / len(losses),
            accuracy_by_set=accuracies,
        )


class BestWeights:
    """The trainable weights with the best validation result so far, and where they were."""

    def __init__(self) -> None:
        self.step: int | None = None
        self.accuracy = -1.0
        self.log_loss = math.inf
        self.state: dict[str, torch.Tensor] | None = None

    def offer(self, result: ValidationResult, step: int, model: torch.nn.Module) -> bool:
        """Keep a copy of ``model``'s trainable weights if ``result`` beats the best so far."""
        if self.state is not None and not result.beats(self.accuracy, self.log_loss):
            return False
        self.step, self.accuracy, self.log_loss = step, result.accuracy, result.log_loss
        self.state = trainable_state(model)
        return True

    def restore_into(self, model: torch.nn.Module) -> None:
        """Load the kept weights into ``model`` (nothing happens when none were kept)."""
        if self.state is None:
            return
        with torch.no_grad():
            for name, param in model.named_parameters():
                if name in self.state:
                    param.copy_(self.state[name])

    def metrics(self) -> dict:
        if self.step is None:
            return {}
        return {"best_step": self.step, "best_val_accuracy": self.accuracy}

    def save(self, folder: Path) -> None:
        """Write the kept weights into a checkpoint folder, so a resumed run keeps them."""
        if self.state is None:
            return
        torch.save(
            {
                "step": self.step,
                "accuracy": self.accuracy,
                "log_loss": self.log_loss,
                "state": self.state,
            },
            folder / BEST_WEIGHTS,
        )

    @classmethod
    def load(cls, folder: Path) -> BestWeights:
        """What ``save`` wrote into ``folder``, or nothing kept when it wrote nothing."""
        best = cls()
        path = folder / BEST_WEIGHTS
        if path.is_file():
            saved = torch.load(path, map_location="cpu", weights_only=True)
            best.step, best.accuracy = int(saved["step"]), float(saved["accuracy"])
            best.log_loss, best.state = float(saved["log_loss"]), saved["state"]
        return best
