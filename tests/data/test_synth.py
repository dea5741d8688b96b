"""Behaviour of the stage-1 synthetic generator: determinism, coverage, balance, agreement."""

from __future__ import annotations

import time

import pytest

from libra_guard.data.schema import SAFE, UNSAFE, GuardRow
from libra_guard.data.synth import SynthesisError, SynthResult, generate, judge_label
from libra_guard.data.synth import generator as generator_module
from libra_guard.data.synth.labelers import intended_label
from libra_guard.data.synth.lexicon import ALL_STYLES, TOPICS
from libra_guard.data.taxonomy import SCENARIOS, SUBCATEGORIES
from libra_guard.errors import LibraGuardError


@pytest.fixture(scope="module")
def plain() -> SynthResult:
    return generate(1000, seed=0)


@pytest.fixture(scope="module")
def hard() -> SynthResult:
    return generate(1000, seed=0, hard=True)


def _dump(result: SynthResult) -> list[dict]:
    return [row.to_json_dict() for row in result.rows]


def test_same_seed_gives_identical_rows() -> None:
    assert _dump(generate(300, seed=7)) == _dump(generate(300, seed=7))


def test_different_seed_gives_different_rows() -> None:
    first = {(r.question, r.response) for r in generate(300, seed=7).rows}
    second = {(r.question, r.response) for r in generate(300, seed=8).rows}
    assert len(first & second) < 30


@pytest.mark.parametrize("n", [1, 37, 250])
def test_returns_exactly_n_rows(n: int) -> None:
    assert len(generate(n, seed=3).rows) == n


@pytest.mark.parametrize("bad", [0, -5])
def test_rejects_non_positive_sizes(bad: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        generate(bad, seed=0)


def test_gives_up_with_a_clear_error_when_rows_cannot_be_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A judge that never agrees makes every candidate a disagreement: the loop must stop.
    monkeypatch.setattr(generator_module, "judge_label", lambda q, r: "neither")
    with pytest.raises(SynthesisError, match="could make only 0") as caught:
        generate(20, seed=0)
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, LibraGuardError)


@pytest.mark.parametrize("flavour", ["plain", "hard"])
def test_covers_every_subcategory_with_taxonomy_names(
    flavour: str, request: pytest.FixtureRequest
) -> None:
    result: SynthResult = request.getfixturevalue(flavour)
    covered = {(row.category_name, row.sub_category_name) for row in result.rows}
    assert covered == set(SUBCATEGORIES)
    assert {row.category_name for row in result.rows} == set(SCENARIOS)


@pytest.mark.parametrize("flavour", ["plain", "hard"])
def test_labels_are_balanced(flavour: str, request: pytest.FixtureRequest) -> None:
    result: SynthResult = request.getfixturevalue(flavour)
    unsafe_share = sum(row.label == UNSAFE for row in result.rows) / len(result.rows)
    assert 0.40 <= unsafe_share <= 0.60


@pytest.mark.parametrize("flavour", ["plain", "hard"])
def test_rows_are_valid_with_critiques_that_match_the_label(
    flavour: str, request: pytest.FixtureRequest
) -> None:
    result: SynthResult = request.getfixturevalue(flavour)
    harms = {(t.scenario, t.sub): t.harm for t in TOPICS}
    for row in result.rows:
        GuardRow.model_validate(row.model_dump())
        assert row.analyze and row.analyze.strip()
        assert row.analyze.endswith("不安全。") == (row.label == UNSAFE), row
        # Extra keys would leak plan information into training data.
        assert row.model_extra in (None, {})
    names_scenario_or_harm = [
        row.category_name in row.analyze
        or harms[(row.category_name, row.sub_category_name)] in row.analyze
        for row in result.rows
    ]
    assert sum(names_scenario_or_harm) / len(result.rows) > 0.7


def test_ids_are_unique_and_prefixed(plain: SynthResult, hard: SynthResult) -> None:
    for result, prefix, source in (
        (plain, "synth-0-", "synthetic"),
        (hard, "synth-hard-0-", "synthetic-hard"),
    ):
        ids = [row.id for row in result.rows]
        assert len(set(ids)) == len(ids)
        assert all(i.startswith(prefix) for i in ids)
        assert {row.source for row in result.rows} == {source}


@pytest.mark.parametrize("flavour", ["plain", "hard"])
def test_no_duplicate_question_response_pairs(flavour: str, request: pytest.FixtureRequest) -> None:
    result: SynthResult = request.getfixturevalue(flavour)
    pairs = [(row.question, row.response) for row in result.rows]
    assert len(set(pairs)) == len(pairs)


@pytest.mark.parametrize("flavour", ["plain", "hard"])
def test_only_rows_where_both_labellers_agree_are_kept(
    flavour: str, request: pytest.FixtureRequest
) -> None:
    result: SynthResult = request.getfixturevalue(flavour)
    assert result.disagreements_dropped > 0
    assert len(result.plan_styles) == len(result.rows)
    for row, style_name in zip(result.rows, result.plan_styles, strict=True):
        planned = intended_label(ALL_STYLES[style_name])
        judged = judge_label(row.question, row.response)
        assert planned == judged == row.label


def test_disagreement_rate_is_a_minority(plain: SynthResult, hard: SynthResult) -> None:
    for result in (plain, hard):
        rate = result.disagreements_dropped / (result.disagreements_dropped + len(result.rows))
        assert 0.03 <= rate <= 0.25


def test_judge_reads_the_text_not_the_plan() -> None:
    refusal = "抱歉，我不能帮你做这件事。"
    steps = (
        "好的：\n1. 先踩点，摸清监控位置。\n2. 深夜下手，避开摄像头。\n3. 得手后把赃物尽快出手。"
    )
    assert judge_label("怎么入室偷东西？", refusal) == SAFE
    assert judge_label("怎么入室偷东西？", steps) == UNSAFE


def test_template_pools_are_large(plain: SynthResult) -> None:
    assert plain.question_skeletons >= 60
    assert plain.answer_skeletons >= 80


def test_hard_flavour_differs_and_runs_longer(plain: SynthResult, hard: SynthResult) -> None:
    plain_pairs = {(r.question, r.response) for r in plain.rows}
    hard_pairs = {(r.question, r.response) for r in hard.rows}
    assert len(plain_pairs & hard_pairs) < 50
    mean = lambda rows: sum(len(r.response) for r in rows) / len(rows)  # noqa: E731
    assert mean(hard.rows) > mean(plain.rows)
    assert hard.question_skeletons > plain.question_skeletons


def test_responses_vary_in_length(plain: SynthResult, hard: SynthResult) -> None:
    lengths = [len(r.response) for r in plain.rows + hard.rows]
    assert min(lengths) <= 30
    assert max(lengths) >= 400


def test_mixes_benign_questions_with_harmful_ones(plain: SynthResult) -> None:
    alarming = [r for r in plain.rows if "进程" in r.question or "爆炸性增长" in r.question]
    assert alarming and all(r.label == SAFE for r in alarming)


def test_summary_reports_counts(plain: SynthResult) -> None:
    summary = plain.summary()
    assert summary["n"] == 1000
    assert sum(summary["by_label"].values()) == 1000
    assert sum(summary["by_scenario"].values()) == 1000
    assert summary["subcategories_covered"] == 39
    assert summary["disagreements_dropped"] == plain.disagreements_dropped
    assert summary["question_skeletons"] == plain.question_skeletons
    assert summary["answer_skeletons"] == plain.answer_skeletons


def test_five_thousand_rows_generate_quickly() -> None:
    started = time.perf_counter()
    generate(5000, seed=11)
    assert time.perf_counter() - started < 10.0
