"""The two sides of a drift check, loaded as ``drift.Traffic``.

- Current: the captured decisions of a window of days (``capture.read_captures``).
- Reference: the champion's evaluation, i.e. the ``predictions.jsonl`` of an evaluation folder
  (scores, categories), joined by id with the evaluation data for text lengths when given.
  ``champion_evaluation`` finds that folder in MLflow: the registered version's run is the
  pipeline's ``register_guard`` stage, and its sibling ``evaluate_guard`` stage (same parent
  run) holds the ``evaluation/`` artifacts.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from libra_guard.data.io import read_rows
from libra_guard.errors import DataError, ModelError
from libra_guard.lifecycle.capture import read_captures
from libra_guard.lifecycle.drift import Traffic
from libra_guard.settings import Settings

EVALUATE_STAGE = "evaluate_guard"


def captured_traffic(
    uri: str,
    *,
    since: date | None = None,
    until: date | None = None,
    settings: Settings | None = None,
) -> Traffic:
    """The captured decisions of ``[since, until]``; threshold from the records themselves.

    Raises:
        DataError: nothing was captured in the window, or the capture cannot be read.
    """
    records = list(read_captures(uri, since=since, until=until, settings=settings))
    if not records:
        raise DataError(f"no captured decisions at {uri} between {since or '…'} and {until or '…'}")
    scenarios = [record.get("category_name") for record in records]
    return Traffic(
        scores=[float(record["score"]) for record in records],
        threshold=float(records[-1].get("threshold", 0.5)),
        chars=[len(record["question"]) + len(record.get("response") or "") for record in records],
        scenarios=scenarios if all(scenarios) else None,
    )


def evaluation_traffic(
    evaluation: Path, data_uri: str | None = None, *, threshold: float = 0.5
) -> Traffic:
    """The scores (and categories) of ``evaluation/predictions.jsonl``; lengths from the data.

    Raises:
        DataError: no predictions file, or predictions without scores (a critique-only run).
    """
    path = evaluation / "predictions.jsonl"
    if not path.is_file():
        raise DataError(f"{path} does not exist; give the folder an evaluation wrote")
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    if not records or any("score" not in record for record in records):
        raise DataError(f"{path} has no scores; evaluate with scores (mode verdict)")
    chars = None
    if data_uri:
        lengths = {row.id: len(row.question) + len(row.response) for row in read_rows(data_uri)}
        chars = [lengths[record["id"]] for record in records if record["id"] in lengths] or None
    return Traffic(
        scores=[float(record["score"]) for record in records],
        threshold=threshold,
        chars=chars,
        scenarios=[record.get("category_name") or "" for record in records],
    )


def champion_evaluation(model_uri: str, dst: Path, *, tracking_uri: str) -> Path:
    """Download the evaluation folder of the version ``model_uri`` names into ``dst``.

    Raises:
        ModelError: the version is unknown, or no evaluation run sits beside it (give
            ``--reference`` instead).
    """
    import mlflow

    from libra_guard.tracking import registry
    from libra_guard.tracking.runs import PARENT_RUN_TAG, STAGE_TAG
    from libra_guard.tracking.store import client, tracking_to

    version = registry.resolve_version(model_uri, tracking_uri=tracking_uri)
    mlflow_client = client(tracking_uri)
    details = mlflow_client.get_model_version(registry.MODEL_NAME, version)
    parent = mlflow_client.get_run(details.run_id).data.tags.get(PARENT_RUN_TAG)
    if not parent:
        raise ModelError(
            f"{model_uri} (version {version}) was not registered by a pipeline run, so no "
            "evaluation sits beside it; pass --reference EVALUATION_FOLDER"
        )
    experiment_id = mlflow_client.get_run(parent).info.experiment_id
    siblings = mlflow_client.search_runs(
        [experiment_id],
        filter_string=(
            f"tags.`{PARENT_RUN_TAG}` = '{parent}' and tags.`{STAGE_TAG}` = '{EVALUATE_STAGE}'"
        ),
    )
    if not siblings:
        raise ModelError(
            f"pipeline run {parent} of {model_uri} has no {EVALUATE_STAGE} stage; "
            "pass --reference EVALUATION_FOLDER"
        )
    evaluate_run = siblings[0].info.run_id
    with tracking_to(tracking_uri):
        try:
            folder = mlflow.artifacts.download_artifacts(
                run_id=evaluate_run, artifact_path="evaluation", dst_path=str(dst)
            )
        except Exception as exc:  # MlflowException or OSError: the artifact is not there
            raise ModelError(
                f"the evaluation of {model_uri} (run {evaluate_run}) cannot be read: {exc}; "
                "pass --reference EVALUATION_FOLDER"
            ) from exc
    return Path(folder)
