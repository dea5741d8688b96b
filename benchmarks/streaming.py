"""Streaming benchmark: the per-delta cost of a stream with the prefix's KV cache kept against
re-scoring the whole prefix, side by side in one run on the same model.

A response of ``--deltas`` pieces of about ``--chars`` characters each is fed to a
``StreamingVerdict``; after every delta the same text is also scored one-shot
(``GuardJudge.verdict_scores``). Each delta is timed ``--repeats`` times (median), and the
ratio re-score / stream is reported per delta; the target is >= 5x at the 20th delta. The
streamed and one-shot scores are compared too (they must agree within 1e-4).

The model: ``--model FOLDER`` or, by default, the ``small`` preset's shape built from config
with a 4,096-token window (so 20 x 50 characters fit without windowing), its tokenizer
trained on generated rows; no network.

Usage::

    .venv/bin/python benchmarks/streaming.py                       # ~1 min on 2 CPUs
    .venv/bin/python benchmarks/streaming.py --model runs/demo/model/final --out /tmp/s.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from libra_guard.modeling.judge import GuardJudge  # noqa: E402
from libra_guard.modeling.streaming import StreamingVerdict  # noqa: E402

QUESTION = "如何骗取老人的养老金？"
SENTENCES = [
    "可以冒充银行职员给老人打电话，说他们的账户出现了异常，需要马上处理。",
    "然后让他们把钱转到所谓的安全账户里，再以手续费为名多次要求转账。",
    "这类做法违法且危险，会给受害人造成严重的经济损失和精神伤害，不应尝试。",
]


def response_pieces(deltas: int, chars: int) -> list[str]:
    text = "".join(SENTENCES) * (1 + deltas * chars // len("".join(SENTENCES)))
    return [text[index * chars : (index + 1) * chars] for index in range(deltas)]


def build_default_model(folder: Path, vocab_size: int) -> Path:
    from libra_guard.modeling.factory import build_tiny_base
    from libra_guard.modeling.presets import PRESETS, SMALL_PRESET
    from libra_guard.modeling.prompt import build_user_message
    from libra_guard.modeling.windows import WINDOW_CONFIG_KEY

    # The vocabulary size sets how many tokens the text takes: trained on these very
    # sentences, 4,096 entries pack about 4 characters into a token (fewer tokens than any
    # real tokenizer); 512 entries leave many characters as byte tokens (more).
    dims = PRESETS[SMALL_PRESET].model_copy(
        update={"max_position_embeddings": 4096, "vocab_size": vocab_size}
    )
    corpus = [build_user_message(QUESTION, sentence) for sentence in SENTENCES] * 20
    out = build_tiny_base(corpus, dims, folder / "small-4k")
    # A window that holds the whole stream: past its window a stream is scored one-shot
    # (the windowing rule), which this benchmark does not measure.
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    config[WINDOW_CONFIG_KEY] = 4096
    (out / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return out


def median_seconds(work, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(model: Path, deltas: int, chars: int, repeats: int) -> list[dict]:
    import torch

    torch.set_num_threads(1)
    judge = GuardJudge.load(model, device="cpu")
    pieces = response_pieces(deltas, chars)
    # One stream per repeat, advanced in lock-step: every repeat times the same delta.
    streams = [StreamingVerdict(judge, QUESTION) for _ in range(repeats)]
    rows, text = [], ""
    for index, piece in enumerate(pieces, start=1):
        text += piece
        stream_times, streamed = [], 0.0
        for stream in streams:
            start = time.perf_counter()
            streamed = stream.add(piece)
            stream_times.append(time.perf_counter() - start)
        scores: list[float] = []
        pair = [(QUESTION, text)]
        rescore = median_seconds(
            lambda pair=pair, scores=scores: scores.append(judge.verdict_scores(pair)[0]),
            repeats,
        )
        stream_s = statistics.median(stream_times)
        rows.append(
            {
                "delta": index,
                "chars": len(text),
                "tokens": len(streams[0]._cached_ids),
                "stream_ms": 1000 * stream_s,
                "rescore_ms": 1000 * rescore,
                "ratio": rescore / stream_s,
                "abs_diff": abs(streamed - scores[-1]),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--deltas", type=int, default=20)
    parser.add_argument("--chars", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--vocab-size", type=int, default=4096, help="default model only")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="stream-bench-") as work:
        model = args.model or build_default_model(Path(work), args.vocab_size)
        rows = run(model, args.deltas, args.chars, args.repeats)
    header = ("delta", "chars", "tokens", "stream ms", "re-score ms", "ratio", "|diff|")
    print("{:>5} {:>6} {:>6} {:>10} {:>12} {:>7} {:>9}".format(*header))
    for row in rows:
        print(
            f"{row['delta']:>5} {row['chars']:>6} {row['tokens']:>6} {row['stream_ms']:>10.2f} "
            f"{row['rescore_ms']:>12.2f} {row['ratio']:>6.1f}x {row['abs_diff']:>9.2e}"
        )
    last = rows[-1]
    print(f"at delta {last['delta']}: {last['ratio']:.1f}x cheaper (target >= 5x)")
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
