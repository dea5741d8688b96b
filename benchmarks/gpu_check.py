"""One command for an accelerator machine: training speed, MFU and memory at a real size, and
verdict against generate latency.

    .venv/bin/python benchmarks/gpu_check.py --out gpu.json                    # 0.5B shape
    .venv/bin/python benchmarks/gpu_check.py --base /models/Qwen2.5-7B-Instruct --method lora
    .venv/bin/python benchmarks/gpu_check.py --preset tiny --device cpu --steps 2   # smoke

What it does, on one device, without Ray (the numbers are the model's, not the cluster's):

1. Builds the ``qwen2.5-0.5b-shape`` preset (random weights; tokenizer trained on synthetic
   rows) or loads ``--base`` (a local folder); encodes synthetic guard rows.
2. Trains ``--steps`` steps the way the training loop does (the guard loss on the answer,
   bf16 autocast with fp32 master weights for full fine-tuning, a bf16 frozen base under LoRA,
   gradient checkpointing, AdamW) after ``--warmup`` untimed steps, and reports tokens/s,
   MFU (6 x parameters x tokens/s over the device's peak bf16 FLOP/s) and the peak memory
   ``torch.cuda.max_memory_allocated`` saw, beside ``memory_plan``'s estimate for the same
   shape (the check of that estimate).
3. Loads the trained weights as a ``GuardJudge`` and times ``verdict_scores`` (one forward
   pass) against ``generate`` (greedy JSON, the paper's protocol) on the same rows.

Writes JSON (``--out``) and prints it. No accelerator was lent to the session that wrote this;
it has run on CPU only (``--device cpu``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import torch  # noqa: E402

from libra_guard.data.synth import generate as synth_rows  # noqa: E402
from libra_guard.modeling.factory import build_tiny_base, load_causal_lm, load_tokenizer  # noqa: E402
from libra_guard.modeling.features import collate, encode_row  # noqa: E402
from libra_guard.modeling.judge import GuardJudge  # noqa: E402
from libra_guard.modeling.lora import LoraSettings, apply_lora, merge_adapter  # noqa: E402
from libra_guard.modeling.presets import PRESETS, QWEN05_SHAPE_PRESET  # noqa: E402
from libra_guard.training.loss import guard_loss  # noqa: E402
from libra_guard.training.memory_plan import Architecture, RunShape, estimate_memory  # noqa: E402
from libra_guard.training.precision import (  # noqa: E402
    autocast,
    enable_gradient_checkpointing,
    weight_dtype,
)
from libra_guard.training.runner import guard_corpus  # noqa: E402

#: Dense bf16 peak FLOP/s by device name fragment (vendor data sheets, without sparsity).
PEAK_BF16_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "A10": 125.0,
                    "L4": 121.0, "4090": 165.0}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    rows = synth_rows(args.rows, 0).rows
    work = Path(tempfile.mkdtemp(prefix="libra-gpu-check-"))
    source = args.base or str(
        build_tiny_base(guard_corpus(rows), PRESETS[args.preset], work / "base")
    )
    tokenizer = load_tokenizer(source)
    model = load_causal_lm(source, dtype=weight_dtype(args.method, device), device=device)
    params = model.num_parameters()
    arch = Architecture.model_validate(model.config.to_dict())
    enable_gradient_checkpointing(model)
    if args.method == "lora":
        model = apply_lora(model, LoraSettings())
    model.train()
    examples = [encode_row(tokenizer, row, args.max_length) for row in rows]
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-5)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    def step(index: int) -> int:
        return _train_step(model, optimizer, examples, index, args.batch_size, pad, device)

    for index in range(args.warmup):
        step(index)
    _sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    began, tokens = time.perf_counter(), 0
    for index in range(args.steps):
        tokens += step(args.warmup + index)
    _sync(device)
    seconds = time.perf_counter() - began
    tokens_per_s = tokens / seconds
    peak_tflops = _peak_tflops(device, args.peak_tflops)
    mfu = 6 * params * tokens_per_s / (peak_tflops * 1e12) if peak_tflops else None
    estimate = estimate_memory(
        arch,
        RunShape(args.method, 1, "none", args.batch_size, args.max_length, True, 16,
                 LoraSettings().target_modules),
    )  # fmt: skip
    training = {
        "method": args.method,
        "batch_size": args.batch_size,
        "max_length": args.max_length,
        "steps": args.steps,
        "tokens_per_s": round(tokens_per_s, 1),
        "mfu": None if mfu is None else round(mfu, 4),
        "peak_memory_gib": (
            round(torch.cuda.max_memory_allocated(device) / 1024**3, 2)
            if device.type == "cuda"
            else None
        ),
        "estimated_memory_gib": round(estimate.total_gib, 2),
    }
    judge_dir = work / "trained"
    merge_adapter(model).save_pretrained(judge_dir)
    tokenizer.save_pretrained(judge_dir)
    model = optimizer = None  # free the training copy before the judge loads its own
    report = {
        "device": _device_name(device),
        "source": source if args.base else args.preset,
        "params": params,
        "training": training,
        "judging": _judge_latency(judge_dir, rows[: args.judge_rows], device),
    }
    text = json.dumps(report, ensure_ascii=False, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    return 0


def _train_step(model, optimizer, examples, index, batch_size, pad, device) -> int:
    """One optimizer step as the training loop takes it; returns the tokens in the batch."""
    batch = [examples[(index * batch_size + k) % len(examples)] for k in range(batch_size)]
    tensors = {key: value.to(device) for key, value in collate(batch, pad).items()}
    with autocast(device):
        loss = guard_loss(model, tensors)
    loss.objective.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return int(tensors["attention_mask"].numel())


def _judge_latency(folder: Path, rows, device: torch.device) -> dict:
    """Seconds per row of verdict (one forward pass) and generate (greedy, 256 new tokens at
    most), same rows, same batch size; the ratio is what ``explain`` costs at this size."""
    judge = GuardJudge.load(folder, device=device.type)
    pairs = [(row.question, row.response) for row in rows]
    judge.verdict_scores(pairs[:2])  # warm-up: kernels, allocator
    _sync(device)
    began = time.perf_counter()
    judge.verdict_scores(pairs, batch_size=8)
    _sync(device)
    verdict = (time.perf_counter() - began) / len(pairs)
    began = time.perf_counter()
    judge.generate(pairs, batch_size=8)
    _sync(device)
    generate = (time.perf_counter() - began) / len(pairs)
    return {
        "rows": len(pairs),
        "verdict_s_per_row": round(verdict, 4),
        "generate_s_per_row": round(generate, 4),
        "generate_over_verdict": round(generate / verdict, 1) if verdict else math.nan,
    }


def _peak_tflops(device: torch.device, given: float | None) -> float | None:
    if given:
        return given
    name = _device_name(device)
    return next((value for key, value in PEAK_BF16_TFLOPS.items() if key in name), None)


def _device_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=None, help="JSON report to write.")
    parser.add_argument("--preset", default=QWEN05_SHAPE_PRESET, choices=sorted(PRESETS))
    parser.add_argument("--base", default=None, help="A local model folder instead of a preset.")
    parser.add_argument("--method", choices=("full", "lora"), default="full")
    parser.add_argument("--device", default=None, help="Default: cuda when available.")
    parser.add_argument("--rows", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=448)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--judge-rows", type=int, default=16)
    parser.add_argument("--peak-tflops", type=float, default=None, help="Device peak, bf16.")
    return parser.parse_args(argv)


if __name__ == "__main__":
    raise SystemExit(main())
