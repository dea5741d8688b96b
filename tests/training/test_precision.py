"""Gradient checkpointing trades memory for recompute without changing the gradients, and
weights keep fp32 masters wherever they train."""

from __future__ import annotations

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM

from libra_guard.training.precision import enable_gradient_checkpointing, weight_dtype


def _model() -> Qwen2ForCausalLM:
    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=300, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=64,
    )  # fmt: skip
    return Qwen2ForCausalLM(config).train()


def _loss_and_grads(model):
    ids = torch.arange(40).view(2, 20) % 300
    loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    return loss.detach(), [p.grad.clone() for p in model.parameters()]


def test_checkpointing_is_on_and_leaves_gradients_unchanged() -> None:
    plain = _model()
    checkpointed = _model()
    enable_gradient_checkpointing(checkpointed)
    assert checkpointed.is_activation_checkpointing
    assert checkpointed.config.use_cache is False
    loss_a, grads_a = _loss_and_grads(plain)
    loss_b, grads_b = _loss_and_grads(checkpointed)
    assert torch.allclose(loss_a, loss_b)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(grads_a, grads_b, strict=True))


def test_trained_weights_stay_fp32_and_a_frozen_gpu_base_is_bf16() -> None:
    cpu, gpu = torch.device("cpu"), torch.device("cuda")
    assert weight_dtype("full", gpu) == torch.float32  # fp32 masters under autocast
    assert weight_dtype("lora", gpu) == torch.bfloat16  # frozen base
    assert weight_dtype("lora", cpu) == torch.float32
