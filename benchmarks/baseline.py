"""The yardstick for the guard: TF-IDF character n-grams + logistic regression.

Character n-grams suit Chinese (no word segmentation needed) and a linear model trained on
exactly the guard's rows tells whether the guard learns more than surface cues.
"""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

from libra_guard.data.schema import SAFE, UNSAFE, GuardRow


def _text(row: GuardRow) -> str:
    # The separator keeps question and response n-grams from fusing at the seam.
    return f"{row.question}\n<回答>\n{row.response}"


class TfidfBaseline:
    """Fit on rows, predict labels and P(不安全) for rows."""

    def __init__(self, ngram_range: tuple[int, int] = (1, 3), max_features: int = 200_000):
        self.pipeline: Pipeline = make_pipeline(
            TfidfVectorizer(
                analyzer="char",
                ngram_range=ngram_range,
                max_features=max_features,
                sublinear_tf=True,
            ),
            LogisticRegression(max_iter=2000, C=4.0),
        )

    def fit(self, rows: Sequence[GuardRow]) -> TfidfBaseline:
        self.pipeline.fit([_text(r) for r in rows], [int(r.label == UNSAFE) for r in rows])
        return self

    def scores(self, rows: Sequence[GuardRow]) -> list[float]:
        return [float(p) for p in self.pipeline.predict_proba([_text(r) for r in rows])[:, 1]]

    def predict(self, rows: Sequence[GuardRow]) -> list[str]:
        return [UNSAFE if s >= 0.5 else SAFE for s in self.scores(rows)]
