"""``roll_out``'s order of steps and what each failure leaves serving, on a recorded fake
platform; and the smoke set built from an evaluation."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from libra_guard.data.schema import SAFE, UNSAFE
from libra_guard.errors import DataError
from libra_guard.tracking.model_version import ModelVersion
from serving.rollout.base import ModelTarget, Rollout, RolloutError, ServedVersion, roll_out
from serving.rollout.smoke import SmokeItem, smoke_mismatches, smoke_set_from_evaluation
from tests.serving.conftest import make_rows


class FakePlatform(Rollout):
    """Applications in a dict; ``fail_at`` names the step that raises."""

    def __init__(self, serving_app: str | None, scores: list[float], fail_at: str = "") -> None:
        self.apps = {serving_app: "1"} if serving_app else {}
        self.traffic = serving_app
        self.scores = scores
        self.fail_at = fail_at
        self.log: list[str] = []
        self.labels: dict[str, tuple[str, ...]] = {}

    def _step(self, name: str) -> None:
        self.log.append(name)
        if name == self.fail_at:
            raise RolloutError(f"{name} broke")

    def serving(self) -> ServedVersion | None:
        return ServedVersion(self.traffic, self.apps[self.traffic]) if self.traffic else None

    def deploy(self, target: ModelTarget) -> None:
        self.apps[target.app_name] = target.version
        self._step("deploy")

    def score(self, target: ModelTarget, pairs: Sequence[tuple[str, str]]) -> list[float]:
        self._step("score")
        return self.scores[: len(pairs)]

    def switch(self, app_name: str) -> None:
        self.traffic = app_name
        self._step(f"switch {app_name}")

    def confirm_serving(self, target: ModelTarget) -> None:
        self._step("confirm")

    def relabel(self, target: ModelTarget) -> None:
        self.labels[target.app_name] = target.aliases
        self._step("relabel")

    def retire(self, app_name: str) -> None:
        self.apps.pop(app_name, None)
        self._step(f"retire {app_name}")


SMOKE = [
    SmokeItem("a", "q1", "r1", UNSAFE, 0.9),
    SmokeItem("b", "q2", "r2", SAFE, 0.1),
]
NEW = ModelTarget(ModelVersion("libra-guard", "2", aliases=("challenger",)), "/models/2")


def promote(moved: list[str]):
    def on_serving(target: ModelTarget) -> ModelTarget:
        moved.append(target.version)
        return target.with_alias("champion")

    return on_serving


def test_success_switches_then_moves_the_alias_then_retires_the_old_version() -> None:
    platform = FakePlatform("libra-guard-v1", [0.91, 0.12])
    moved: list[str] = []
    result = roll_out(platform, NEW, SMOKE, on_serving=promote(moved), drain_s=0)
    assert result.served and result.previous_version == "1" and not result.warnings
    assert platform.log == [
        "deploy",
        "score",
        "switch libra-guard-v2",
        "confirm",
        "relabel",
        "retire libra-guard-v1",
    ]
    assert moved == ["2"] and platform.labels["libra-guard-v2"] == ("challenger", "champion")
    assert platform.traffic == "libra-guard-v2" and set(platform.apps) == {"libra-guard-v2"}


@pytest.mark.parametrize(
    ("fail_at", "reason"),
    [
        ("deploy", "did not start"),
        ("score", "could not be scored"),
        ("confirm", "traffic did not switch"),
        ("switch libra-guard-v2", "traffic did not switch"),
    ],
)
def test_failures_leave_the_old_version_serving_and_the_alias_unmoved(
    fail_at: str, reason: str
) -> None:
    platform = FakePlatform("libra-guard-v1", [0.91, 0.12], fail_at=fail_at)
    moved: list[str] = []
    result = roll_out(platform, NEW, SMOKE, on_serving=promote(moved), drain_s=0)
    assert not result.served and reason in result.reason and f"{fail_at} broke" in result.reason
    assert moved == []
    assert platform.traffic == "libra-guard-v1" and set(platform.apps) == {"libra-guard-v1"}


def test_a_smoke_mismatch_stops_before_any_traffic_moves() -> None:
    platform = FakePlatform("libra-guard-v1", [0.2, 0.12])
    result = roll_out(platform, NEW, SMOKE, on_serving=promote([]), drain_s=0)
    assert not result.served and "1 of 2 smoke items disagree" in result.reason
    assert result.smoke_mismatches == ["a: served 安全 (score 0.2000), evaluated 不安全"]
    assert not any(step.startswith("switch") for step in platform.log)
    assert platform.traffic == "libra-guard-v1"


def test_an_alias_that_cannot_move_switches_traffic_back() -> None:
    platform = FakePlatform("libra-guard-v1", [0.91, 0.12])

    def broken_registry(target: ModelTarget) -> ModelTarget:
        raise RuntimeError("registry down")

    result = roll_out(platform, NEW, SMOKE, on_serving=broken_registry, drain_s=0)
    assert not result.served and "alias could not be moved" in result.reason
    assert platform.traffic == "libra-guard-v1" and set(platform.apps) == {"libra-guard-v1"}


def test_a_first_rollout_has_nothing_to_retire() -> None:
    platform = FakePlatform(None, [0.91, 0.12])
    result = roll_out(platform, NEW, SMOKE, drain_s=0)
    assert result.served and result.previous_version is None
    assert platform.log[-1] == "confirm"


def test_smoke_set_balances_labels_and_skips_borderline_scores() -> None:
    rows = make_rows(8)
    predictions = [
        {"id": row.id, "score": score}
        for row, score in zip(rows, [0.9, 0.49, 0.8, 0.1, 0.7, 0.2, 0.53, 0.3], strict=True)
    ]
    items = smoke_set_from_evaluation(rows, predictions, size=4, margin=0.05)
    assert [item.id for item in items] == ["row-0", "row-3", "row-2", "row-5"]
    assert [item.expected_label for item in items] == [UNSAFE, SAFE, UNSAFE, SAFE]
    assert smoke_mismatches(items, [0.88, 0.11, 0.81, 0.2]) == []
    assert smoke_mismatches(items, [0.88, 0.11, 0.6, 0.2]) == [
        "row-2: served score 0.6000, evaluated 0.8000"
    ]


def test_smoke_set_needs_usable_predictions() -> None:
    with pytest.raises(DataError, match="no usable prediction"):
        smoke_set_from_evaluation(make_rows(2), [{"id": "row-0", "score": 0.5}])
