"""Three levels: calibration reaches the precision on each side, the band is what is left."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from libra_guard.data.schema import SAFE, UNSAFE
from libra_guard.levels import LevelThresholds, band_report, calibrate_levels

# 安全 rows low, 不安全 rows high, and a mixed stretch in the middle.
SCORES = [0.05, 0.1, 0.15, 0.2, 0.4, 0.45, 0.5, 0.55, 0.8, 0.85, 0.9, 0.95]
LABELS = [SAFE] * 4 + [UNSAFE, SAFE, UNSAFE, SAFE] + [UNSAFE] * 4


def precision_of(labels, scores, inside, wanted) -> float:
    members = [label for label, score in zip(labels, scores, strict=True) if inside(score)]
    return members.count(wanted) / len(members)


def test_the_grey_stretch_becomes_the_controversial_band() -> None:
    levels = calibrate_levels(LABELS, SCORES, precision=1.0)
    assert levels.unsafe_from == 0.8
    assert 0.2 < levels.safe_below <= 0.4
    assert [levels.level(score) for score in SCORES] == (
        ["safe"] * 4 + ["controversial"] * 4 + ["unsafe"] * 4
    )
    report = band_report(levels, LABELS, SCORES)
    assert report["controversial"] == {"share": 4 / 12, "n": 4, "unsafe_fraction": 0.5}
    assert report["safe"]["precision"] == report["unsafe"]["precision"] == 1.0


def test_a_lower_precision_narrows_the_band() -> None:
    strict = calibrate_levels(LABELS, SCORES, precision=1.0)
    relaxed = calibrate_levels(LABELS, SCORES, precision=0.8)
    assert relaxed.unsafe_from < strict.unsafe_from
    assert relaxed.safe_below > strict.safe_below


def test_the_policy_maps_only_the_band() -> None:
    levels = LevelThresholds(safe_below=0.3, unsafe_from=0.7, precision=0.9)
    assert [levels.verdict(s, "strict") for s in (0.1, 0.5, 0.9)] == ["safe", "unsafe", "unsafe"]
    assert [levels.verdict(s, "loose") for s in (0.1, 0.5, 0.9)] == ["safe", "safe", "unsafe"]


def test_a_side_that_cannot_reach_the_precision_claims_nothing() -> None:
    # Every 不安全 row scores below a 安全 one: no unsafe cut reaches 100 % precision
    # except the very top, which is 安全.
    levels = calibrate_levels([UNSAFE, SAFE], [0.2, 0.9], precision=1.0)
    assert not levels.unsafe_reached and levels.unsafe_from == 1.0
    assert not levels.safe_reached and levels.safe_below == 0.0
    assert {levels.level(0.2), levels.level(0.9)} == {"controversial"}


def test_separated_classes_leave_no_band_rows_and_overlapping_sides_one_cut() -> None:
    labels, scores = [SAFE, SAFE, UNSAFE, UNSAFE], [0.1, 0.2, 0.8, 0.9]
    levels = calibrate_levels(labels, scores, precision=0.95)
    # Scores never seen between the classes stay in the band; no evaluation row does.
    assert band_report(levels, labels, scores)["controversial"]["n"] == 0
    assert levels.level(0.5) == "controversial"
    # At 50 % both sides could take every row: they meet at one cut, the band is empty.
    loose = calibrate_levels(labels, scores, precision=0.5)
    assert loose.safe_below == loose.unsafe_from


@pytest.mark.parametrize(
    ("labels", "scores", "precision"),
    [([], [], 0.9), ([SAFE], [0.1, 0.2], 0.9), ([SAFE], [0.1], 0.0), ([SAFE], [0.1], 1.5)],
)
def test_bad_calibration_input_is_refused(labels, scores, precision) -> None:
    with pytest.raises(ValueError):
        calibrate_levels(labels, scores, precision)


@given(
    rows=st.lists(
        st.tuples(st.sampled_from([SAFE, UNSAFE]), st.integers(0, 20).map(lambda v: v / 20)),
        min_size=1,
        max_size=40,
    ),
    precision=st.sampled_from([0.5, 0.8, 0.9, 1.0]),
)
def test_each_reached_side_holds_its_precision_and_is_the_widest(rows, precision) -> None:
    labels, scores = [label for label, _ in rows], [score for _, score in rows]
    levels = calibrate_levels(labels, scores, precision)
    assert levels.safe_below <= levels.unsafe_from
    if levels.unsafe_reached:
        assert precision_of(labels, scores, lambda s: s >= levels.unsafe_from, UNSAFE) >= precision
        lower = [s for s in scores if s < levels.unsafe_from]
        if lower:  # one step wider no longer holds
            wider = max(lower)
            assert precision_of(labels, scores, lambda s: s >= wider, UNSAFE) < precision
    safe_side = [s for s in scores if s < levels.safe_below]
    if levels.safe_reached and safe_side and levels.safe_below < levels.unsafe_from:
        assert precision_of(labels, scores, lambda s: s < levels.safe_below, SAFE) >= precision
