"""Reproduce docs/drift-example.png: a real drift check, end to end, on one machine.

A tiny guard (built from config, random weights, so its scores sit in a narrow band) is
evaluated on synthetic test rows; that evaluation is the reference. The same guard is then
served (the plain in-process API, capture on at rate 1) and sent real JADE v3 conversations
from ../shared/data, which are longer and differently mixed; the captured traffic goes through
``libra-guard monitor drift``, whose report and exit code are printed.

    PYTHONPATH=. python docs/drift_example.py   # about a minute on 2 cores
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import requests
from typer.testing import CliRunner

from libra_guard.cli.main import app
from libra_guard.data.io import read_rows, write_jsonl
from libra_guard.data.synth import generate
from libra_guard.evaluation.runner import evaluate_model
from libra_guard.lifecycle.capture import CaptureConfig
from libra_guard.modeling.factory import build_tiny_base
from libra_guard.modeling.presets import TinyDims
from libra_guard.training.runner import guard_corpus
from serving.config import ServingConfig
from serving.model_source import target_of
from serving.plain import running_plain_server

JADE = Path(__file__).resolve().parents[2] / "shared" / "data" / "jade-v3-medium.jsonl"
DIMS = TinyDims(
    vocab_size=512,
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=1,
    num_attention_heads=2,
    num_key_value_heads=1,
    max_position_embeddings=1024,
)


def main() -> int:
    if not JADE.is_file():
        print(f"{JADE} is absent (it lives in ../shared/data)")
        return 1
    work = Path(tempfile.mkdtemp(prefix="drift-example-"))
    reference_rows = generate(300, seed=5).rows
    jade_rows = read_rows(str(JADE))[:300]
    guard = build_tiny_base(guard_corpus([*reference_rows, *jade_rows]), DIMS, work / "guard")
    evaluate_model(guard, reference_rows, work / "evaluation", mode="verdict")
    data = write_jsonl(reference_rows, work / "reference.jsonl")
    capture = CaptureConfig(uri=str(work / "captures"), rate=1.0)
    config = ServingConfig(capture=capture, max_chars=4000)
    with running_plain_server(target_of(str(guard)), config) as url:
        for start in range(0, len(jade_rows), 8):
            batch = jade_rows[start : start + 8]
            items = [{"question": row.question, "response": row.response} for row in batch]
            answer = requests.post(f"{url}/v1/moderate", json={"items": items}, timeout=120)
            answer.raise_for_status()
    out = work / "report"
    result = CliRunner().invoke(
        app,
        ["monitor", "drift", "--capture", str(work / "captures"), "--reference",
         str(work / "evaluation"), "--reference-data", str(data), "--out", str(out)],
        env={"MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}", "LIBRA_STATE_DIR": str(work)},  # noqa: E501
    )  # fmt: skip
    print(result.output)
    print(f"exit code {result.exit_code}")
    shutil.copyfile(out / "drift.png", Path(__file__).with_name("drift-example.png"))
    print(json.dumps(json.loads((out / "drift.json").read_text())["outcome"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
