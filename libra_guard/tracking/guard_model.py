"""The guard as an MLflow pyfunc model: the trained folder travels as an artifact.

Why pyfunc with the model folder as an artifact rather than ``mlflow.transformers``:

- the folder is stored byte for byte (weights, tokenizer, chat template, ``libra_guard.json``
  provenance and, for LoRA runs, ``adapter/``), so ``GuardJudge.load`` on the downloaded copy
  gives exactly the verdicts of the original, and the base weights always travel with it
  (training writes merged weights; nothing refers back to a hub id);
- ``mlflow.transformers.log_model`` would rebuild the folder from a pipeline object, infer
  requirements by importing torchvision (absent from this torch build), look up a model card
  on the hub (no network here) and, for a PEFT model without ``base_model_path``, record only
  a hub reference to the base.

``mlflow.pyfunc.load_model("models:/libra-guard@champion").predict(df)`` also works: ``df``
has ``question`` and ``response`` columns; the result has ``score`` (P(不安全)) and
``verdict``. The model is logged "from code" (``guard_model_code.py``), so loading it never
unpickles anything. It needs ``libra_guard`` importable where it is loaded (the platform's
image); ``libra-guard`` is not a published package, so it is NOT listed as a pip requirement
(a pip install by that name could fetch someone else's package).
"""

from __future__ import annotations

from importlib import metadata

import pandas as pd
from mlflow.models import ModelSignature
from mlflow.pyfunc import PythonModel
from mlflow.types import ColSpec, Schema

from libra_guard.data.schema import SAFE, UNSAFE

#: Key of the model folder among the pyfunc model's artifacts.
GUARD_ARTIFACT = "guard"
#: P(不安全) at or above which ``predict`` says 不安全 (as the evaluation's verdict mode).
VERDICT_THRESHOLD = 0.5
#: Packages the pyfunc model imports at load time, pinned to the versions that logged it.
RUNTIME_PACKAGES = ("torch", "transformers", "tokenizers", "safetensors", "peft", "pandas")

SIGNATURE = ModelSignature(
    inputs=Schema([ColSpec("string", "question"), ColSpec("string", "response")]),
    outputs=Schema([ColSpec("double", "score"), ColSpec("string", "verdict")]),
)


class GuardVerdictModel(PythonModel):
    """Scores (question, response) pairs with ``GuardJudge.verdict_scores``."""

    def load_context(self, context) -> None:
        from libra_guard.modeling.judge import GuardJudge

        self.judge = GuardJudge.load(context.artifacts[GUARD_ARTIFACT])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        pairs = list(zip(model_input["question"], model_input["response"], strict=True))
        scores = self.judge.verdict_scores(pairs)
        verdicts = [UNSAFE if score >= VERDICT_THRESHOLD else SAFE for score in scores]
        return pd.DataFrame({"score": scores, "verdict": verdicts})


def pip_requirements() -> list[str]:
    """Pinned requirements of the runtime packages (local version labels such as ``+cpu``
    dropped, so a CUDA build of the same release satisfies them)."""
    pins = []
    for package in RUNTIME_PACKAGES:
        try:
            version = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
        pins.append(f"{package}=={version.split('+')[0]}")
    return pins
