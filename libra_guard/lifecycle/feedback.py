"""Captured decisions -> rows for a reviewer -> a validated real-data source with a digest.

``export_for_review`` writes captured items as Libra-Test rows (``id, source, category_name,
sub_category_name, question, response, label``) with ``label`` EMPTY, for a reviewer to set to
``安全`` or ``不安全`` (and the category where known); the guard's view travels beside it
(``guard_score``, ``guard_label``, ``guard_model``, ``captured_at``, ``task``) so reviewers can
sort by doubt, and is kept through import as extra keys. A prompt-moderation item (no response)
is exported as a prompt-task row (``task: "prompt"``, no ``response``): the reviewer labels the
question itself, and the row trains and tests the prompt task.

``import_reviewed`` runs the same validation as every dataset (``data.validate``): rows still
unlabelled, or labelled with anything but the two labels, go to the quarantine file with the
reason; duplicates too. The kept rows and their sha256 digest file form a source that
``DemoConfig.extra_real_data`` (and so the pipeline) takes for stage 2 and the test split.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

from libra_guard.data.io import write_jsonl
from libra_guard.data.schema import PROMPT_TASK, RESPONSE_TASK
from libra_guard.data.validate import ValidationReport, validate_file
from libra_guard.errors import DataError
from libra_guard.lifecycle.capture import read_captures
from libra_guard.settings import Settings

FEEDBACK_SOURCE = "Feedback"


@dataclass(frozen=True)
class ExportSummary:
    out: str
    rows: int
    near_threshold: int


def review_row(record: dict) -> dict:
    """One captured record as a Libra-Test row awaiting its label."""
    question = record["question"]
    response = record.get("response") or question
    identity = f"{record['captured_at']}\n{question}\n{response}".encode()
    task = record.get("task", RESPONSE_TASK)
    row = {
        "id": "fb-" + hashlib.sha256(identity).hexdigest()[:16],
        "source": FEEDBACK_SOURCE,
        "category_name": "",
        "sub_category_name": "",
        "question": question,
        "response": response,
        "label": "",
        "guard_score": record["score"],
        "guard_label": record["label"],
        "guard_model": record.get("model", {}),
        "captured_at": record["captured_at"],
        "task": task,
    }
    if task == PROMPT_TASK:
        del row["response"]  # the question alone was judged, and is what gets labelled
    return row


def export_for_review(
    capture_uri: str,
    out: str,
    *,
    since: date | None = None,
    until: date | None = None,
    near_threshold_only: bool = False,
    settings: Settings | None = None,
) -> ExportSummary:
    """Write the captured items of ``[since, until]`` to ``out`` for labelling, most doubtful
    (score nearest its threshold) first.

    Raises:
        DataError: nothing to export, or the capture cannot be read.
    """
    records = [
        record
        for record in read_captures(capture_uri, since=since, until=until, settings=settings)
        if not near_threshold_only or record.get("near_threshold") is True
    ]
    if not records:
        which = "near-threshold " if near_threshold_only else ""
        raise DataError(f"no {which}captured decisions at {capture_uri} in the window")
    records.sort(key=lambda record: abs(record["score"] - record.get("threshold", 0.5)))
    rows = [review_row(record) for record in records]
    written = write_jsonl(rows, out, settings)
    near = sum(record.get("near_threshold") is True for record in records)
    return ExportSummary(out=str(written), rows=len(rows), near_threshold=near)


def import_reviewed(
    reviewed: str, out: str, *, settings: Settings | None = None
) -> ValidationReport:
    """Validate labelled rows into ``out`` (+ quarantine and digest files beside it).

    Raises:
        DataError: the file cannot be read, or no row survives validation (nothing labelled).
    """
    report = validate_file(reviewed, out, settings=settings)
    if report.kept == 0:
        raise DataError(
            f"no row of {reviewed} passed validation ({report.quarantined} quarantined in "
            f"{report.quarantine_path}); set each label to 安全 or 不安全"
        )
    return report
