"""``evaluate_model`` wiring, with a duck-typed stand-in for ``GuardJudge``."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from libra_guard.data.schema import SAFE as S
from libra_guard.data.schema import UNSAFE as U
from libra_guard.errors import ConfigError, DataError, ModelError
from libra_guard.evaluation import evaluate_model
from libra_guard.modeling.judge import WindowedAnswer, WindowedScore
from tests.evaluation.rows import make_row


class ScriptedJudge:
    """Answers from the question text: ``unsafe:<p>`` / ``safe:<p>`` / ``garbled:<p>``."""

    name = "scripted"

    def __init__(self, drop_one: bool = False) -> None:
        self.generate_calls: list[tuple[int, int, int]] = []
        self.score_calls: list[tuple[int, int]] = []
        self.drop_one = drop_one

    def generate(
        self, pairs: Sequence[tuple[str, str]], max_new_tokens: int = 256, batch_size: int = 16
    ) -> list[str]:
        self.generate_calls.append((len(pairs), max_new_tokens, batch_size))
        answers = {
            "unsafe": '{"答案": "不安全", "分析": "有害',
            "safe": '{"答案": "安全", "分析": "拒绝了"}',
            "garbled": "抱歉，我不能回答。",
        }
        texts = [answers[question.split(":")[0]] for question, _ in pairs]
        return texts[:-1] if self.drop_one else texts

    def verdict_scores(self, pairs: Sequence[tuple[str, str]], batch_size: int = 16) -> list[float]:
        self.score_calls.append((len(pairs), batch_size))
        return [float(question.split(":")[1]) for question, _ in pairs]

    # One window per 100 characters of response, as a long item would be read.
    def generate_windows(self, pairs, max_new_tokens: int = 256, batch_size: int = 16):
        texts = self.generate(pairs, max_new_tokens, batch_size)
        return [
            WindowedAnswer(t, 1 + len(r) // 100) for t, (_, r) in zip(texts, pairs, strict=False)
        ]

    def verdict_windows(self, pairs, batch_size: int = 16):
        scores = self.verdict_scores(pairs, batch_size)
        return [
            WindowedScore(s, 1 + len(r) // 100) for s, (_, r) in zip(scores, pairs, strict=False)
        ]


@pytest.fixture
def rows():
    # label, what the judge says, its P(不安全)
    script = [
        (U, "unsafe", 0.9),
        (U, "garbled", 0.5),  # generate: unscorable (wrong); verdict: exactly 0.5 -> unsafe
        (S, "safe", 0.1),
        (S, "unsafe", 0.7),
        (S, "safe", 0.49),
    ] * 2  # ten rows: more than one chunk of 2 batches x 2 rows
    return [
        make_row(label, row_id=f"r{i}", question=f"{says}:{p}")
        for i, (label, says, p) in enumerate(script)
    ]


def read_records(out) -> list[dict]:
    return [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]


def test_generate_mode_scores_generated_text_with_the_papers_rule(tmp_path, rows) -> None:
    judge = ScriptedJudge()
    metrics = evaluate_model(judge, rows, tmp_path, batch_size=2, max_new_tokens=64)

    assert sum(n for n, _, _ in judge.generate_calls) == 10
    assert {(tokens, batch) for _, tokens, batch in judge.generate_calls} == {(64, 2)}
    assert judge.score_calls == []
    assert metrics["average"]["accuracy"] == pytest.approx(6 / 10)
    assert metrics["unparseable"] == 2
    assert metrics["roc_auc"] is None
    assert metrics["run"] == {
        "model": "scripted",
        "mode": "generate",
        "max_new_tokens": 64,
        "threshold": None,
        "windows_read": 10,
        "rows_over_one_window": 0,
    }
    records = read_records(tmp_path)
    assert [r["id"] for r in records] == [row.id for row in rows]
    assert records[0]["critic"] == '{"答案": "不安全", "分析": "有害'
    assert [r["prediction"] for r in records[:5]] == [U, None, S, U, S]
    assert "score" not in records[0]


def test_generate_mode_with_scores_adds_roc_auc(tmp_path, rows) -> None:
    judge = ScriptedJudge()
    metrics = evaluate_model(judge, rows, tmp_path, batch_size=4, with_scores=True)
    assert sum(n for n, _ in judge.score_calls) == 10
    # Unsafe {.9, .5} against safe {.1, .7, .49}: .9 beats all 3, .5 beats 2 -> 5 of 6 pairs.
    assert metrics["roc_auc"] == pytest.approx(5 / 6)
    assert read_records(tmp_path)[0]["score"] == 0.9


def test_verdict_mode_thresholds_scores_and_writes_paper_shaped_answers(tmp_path, rows) -> None:
    judge = ScriptedJudge()
    metrics = evaluate_model(judge, rows, tmp_path, mode="verdict", threshold=0.5)

    assert judge.generate_calls == []
    records = read_records(tmp_path)
    assert [r["prediction"] for r in records[:5]] == [U, U, S, U, S]
    assert json.loads(records[1]["critic"]) == {"答案": U}
    assert metrics["average"]["accuracy"] == pytest.approx(8 / 10)
    assert metrics["unparseable"] == 0
    assert metrics["roc_auc"] == pytest.approx(5 / 6)
    assert metrics["run"]["threshold"] == 0.5


@pytest.mark.parametrize("mode", ["verdict", "generate"])
def test_each_prediction_says_how_many_windows_were_read(tmp_path, rows, mode) -> None:
    rows = [rows[0].model_copy(update={"response": "很长" * 150}), *rows[1:]]
    metrics = evaluate_model(ScriptedJudge(), rows, tmp_path, mode=mode)
    records = read_records(tmp_path)
    assert [r["windows"] for r in records[:2]] == [4, 1]
    assert metrics["run"]["windows_read"] == 4 + 9
    assert metrics["run"]["rows_over_one_window"] == 1


def test_verdict_threshold_moves_the_cut(tmp_path, rows) -> None:
    metrics = evaluate_model(ScriptedJudge(), rows, tmp_path, mode="verdict", threshold=0.8)
    # Only 0.9 reaches 0.8: the unsafe row at 0.5 is now missed.
    assert metrics["confusion_matrix"]["matrix"] == [[6, 0], [2, 2]]


def test_a_judge_returning_too_few_answers_is_a_model_error(tmp_path, rows) -> None:
    with pytest.raises(ModelError, match="returned 7 results for 8 rows"):
        evaluate_model(ScriptedJudge(drop_one=True), rows, tmp_path, batch_size=2)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"mode": "fast"}, "mode must be one of"),
        ({"batch_size": 0}, "batch size"),
        ({"threshold": 1.5}, "threshold"),
        ({"max_new_tokens": 0}, "max new tokens"),
    ],
)
def test_bad_options_are_config_errors(tmp_path, rows, options, message) -> None:
    with pytest.raises(ConfigError, match=message):
        evaluate_model(ScriptedJudge(), rows, tmp_path, **options)


def test_no_rows_is_a_data_error(tmp_path) -> None:
    with pytest.raises(DataError, match="no data rows"):
        evaluate_model(ScriptedJudge(), [], tmp_path)


def test_scores_calibrate_three_levels_into_the_report(tmp_path, rows) -> None:
    metrics = evaluate_model(ScriptedJudge(), rows, tmp_path, mode="verdict", level_precision=1.0)
    levels = metrics["levels"]
    # 0.9 is the only cut whose side is all 不安全; below 0.5 every row is 安全.
    assert levels["thresholds"]["unsafe_from"] == 0.9
    assert 0.49 < levels["thresholds"]["safe_below"] <= 0.5
    assert levels["controversial"] == {"share": 0.4, "n": 4, "unsafe_fraction": 0.5}
    assert levels["safe"]["precision"] == levels["unsafe"]["precision"] == 1.0
    on_disk = json.loads((tmp_path / "metrics.json").read_text())
    assert on_disk["levels"] == levels


def test_generate_mode_without_scores_has_no_levels(tmp_path, rows) -> None:
    assert "levels" not in evaluate_model(ScriptedJudge(), rows, tmp_path)
    with pytest.raises(ConfigError, match="level precision"):
        evaluate_model(ScriptedJudge(), rows, tmp_path, level_precision=0)
