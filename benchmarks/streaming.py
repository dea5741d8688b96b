"""Streaming benchmark: the per-delta cost of a stream with one KV cache per open window kept
against re-scoring the whole prefix, side by side in one run on the same model.

A response of ``--deltas`` pieces of about ``--chars`` characters each is fed to a
``StreamingVerdict``; after every delta the same text is also scored one-shot
(``GuardJudge.verdict_scores``: every window of the text, the maximum over windows). Each delta
is timed ``--repeats`` times (median), and the ratio re-score / stream is reported per delta;
the target is >= 5x at the 20th delta. Beside the times, the model positions each side runs
(the stream's ``tokens_run`` per delta; the re-score's prompt tokens over all windows), which
the machine's load does not blur, and the load average before and after. The streamed and
one-shot scores are compared too (they must agree within 1e-4).

``--deltas`` takes several lengths (default ``20,60``): each is its own stream.

The model: ``--model FOLDER`` or, by default, the ``small`` preset's shape built from config
with a 4,096-position context and the default 48-token window (``--window-tokens 0``: one
window holding the whole stream, the setup measured before streams were windowed), its
tokenizer trained on generated rows; no network.

Usage::

    .venv/bin/python benchmarks/streaming.py                       # a few min on 2 CPUs
    .venv/bin/python benchmarks/streaming.py --model runs/demo/model/final --out /tmp/s.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from libra_guard.modeling.judge import GuardJudge  # noqa: E402
from libra_guard.modeling.streaming import StreamingVerdict  # noqa: E402
from libra_guard.modeling.windows import DEFAULT_WINDOW_TOKENS, pair_windows  # noqa: E402

QUESTION = "如何骗取老人的养老金？"
SENTENCES = [
    "可以冒充银行职员给老人打电话，说他们的账户出现了异常，需要马上处理。",
    "然后让他们把钱转到所谓的安全账户里，再以手续费为名多次要求转账。",
    "这类做法违法且危险，会给受害人造成严重的经济损失和精神伤害，不应尝试。",
]


def response_pieces(deltas: int, chars: int) -> list[str]:
    text = "".join(SENTENCES) * (1 + deltas * chars // len("".join(SENTENCES)))
    return [text[index * chars : (index + 1) * chars] for index in range(deltas)]


def build_default_model(folder: Path, vocab_size: int, window_tokens: int) -> Path:
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
    out = build_tiny_base(corpus, dims, folder / "small")
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    # 0: one window holds the whole stream (no windowing), the setup measured before.
    config[WINDOW_CONFIG_KEY] = window_tokens or 4096
    (out / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return out


def median_seconds(work, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def rescore_tokens(judge: GuardJudge, text: str) -> int:
    """Model positions one re-score of ``text`` runs: every window's prompt and the prefix."""
    budget = judge._prompt_budget(len(judge._prefix_ids) + 1)
    windows = pair_windows(judge.tokenizer, QUESTION, text, budget, judge.window_tokens)
    return sum(len(ids) + len(judge._prefix_ids) for ids in windows)


def run(judge: GuardJudge, deltas: int, chars: int, repeats: int) -> list[dict]:
    pieces = response_pieces(deltas, chars)
    # One stream per repeat, advanced in lock-step: every repeat times the same delta.
    streams = [StreamingVerdict(judge, QUESTION) for _ in range(repeats)]
    rows, text = [], ""
    for index, piece in enumerate(pieces, start=1):
        text += piece
        stream_times, streamed = [], 0.0
        run_before = streams[0].tokens_run
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
        stream_tokens = streams[0].tokens_run - run_before
        full_tokens = rescore_tokens(judge, text)
        rows.append(
            {
                "delta": index,
                "chars": len(text),
                "windows": streams[0].windows,
                "stream_tokens": stream_tokens,
                "rescore_tokens": full_tokens,
                "stream_ms": 1000 * stream_s,
                "rescore_ms": 1000 * rescore,
                "ratio": rescore / stream_s,
                "token_ratio": full_tokens / stream_tokens,
                "abs_diff": abs(streamed - scores[-1]),
            }
        )
    return rows


def print_rows(rows: list[dict]) -> None:
    header = ("delta", "chars", "windows", "stream tok", "re-score tok", "stream ms")
    header += ("re-score ms", "ratio", "|diff|")
    print("{:>5} {:>6} {:>7} {:>10} {:>12} {:>10} {:>12} {:>7} {:>9}".format(*header))
    for row in rows:
        print(
            f"{row['delta']:>5} {row['chars']:>6} {row['windows']:>7} "
            f"{row['stream_tokens']:>10} {row['rescore_tokens']:>12} {row['stream_ms']:>10.2f} "
            f"{row['rescore_ms']:>12.2f} {row['ratio']:>6.1f}x {row['abs_diff']:>9.2e}"
        )


def main(argv: list[str] | None = None) -> int:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--deltas", default="20,60", help="stream lengths, comma-separated")
    parser.add_argument("--chars", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--vocab-size", type=int, default=4096, help="default model only")
    parser.add_argument(
        "--window-tokens",
        type=int,
        default=DEFAULT_WINDOW_TOKENS,
        help="default model only; 0: one window holding the whole stream",
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    load_before = os.getloadavg()
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="stream-bench-") as work:
        model = args.model or build_default_model(Path(work), args.vocab_size, args.window_tokens)
        judge = GuardJudge.load(model, device="cpu")
        for deltas in (int(part) for part in args.deltas.split(",")):
            rows = run(judge, deltas, args.chars, args.repeats)
            print(f"\n{deltas} deltas of {args.chars} characters, window {judge.window_tokens}")
            print_rows(rows)
            for at in sorted({min(20, deltas), deltas}):
                row = rows[at - 1]
                print(
                    f"at delta {at}: {row['ratio']:.1f}x cheaper in time, "
                    f"{row['token_ratio']:.1f}x in model positions (target >= 5x at delta 20)"
                )
            results[str(deltas)] = rows
    load_after = os.getloadavg()
    print(f"load average (1, 5, 15 min): before {load_before}, after {load_after}")
    if args.out:
        results["load_average"] = {"before": load_before, "after": load_after}
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
