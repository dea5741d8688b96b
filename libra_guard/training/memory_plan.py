"""Memory per GPU of a training run, estimated from the architecture alone (no weights loaded).

Why an estimate before a run: a 7B or 14B job that does not fit fails minutes into a cluster
allocation, after the weights were downloaded and sharded. The arithmetic below is the one the
field uses (ZeRO paper, Rajbhandari et al. 2020; activation memory after Korthikanti et al.
2022, with a fused attention kernel so no s x s score matrix is stored); it is an estimate
(expect +-25%), written out so a reader can check each term:

- Full fine-tuning in bf16 mixed precision keeps fp32 master weights (4 B/param), fp32
  gradients (4 B) and AdamW's two moments (8 B): 16 B per parameter, plus the bf16 copies
  autocast makes of the weights (2 B). FSDP (ZeRO-3) divides the 16 B by the GPU count and
  gathers one decoder layer at a time (2 layers in flight with prefetch, in bf16).
- LoRA keeps the frozen base in bf16 (2 B/param, divided by the GPUs under FSDP) and 16 B per
  adapter parameter.
- Activations, per decoder layer, in bf16: the layer input (2 B x b x s x h). With gradient
  checkpointing only those inputs stay, plus one layer recomputed in full during backward;
  without it every layer keeps its full set: ~2 B x b x s x (10 h + 4 kv + 4 i) (norm inputs,
  q/k/v, attention output, the MLP's gate, up, activation and down input), where h is the
  hidden size, kv the key-value width and i the MLP width.
- The output layer: logits b x s x V in bf16 (2 B), their fp32 upcast for the loss (4 B) and
  its gradient (4 B): 10 B x b x s x V. With a 152k vocabulary this term is often larger than
  all the activations.
- The CUDA context, cuBLAS workspaces and allocator fragmentation: 2 GiB plus 10% of the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

GIB = 1024**3
Sharding = Literal["none", "fsdp"]

#: Bytes per parameter of full fine-tuning in bf16 mixed precision with AdamW: fp32 master
#: weights 4 + fp32 gradients 4 + Adam's first and second moments 4 + 4.
FULL_STATE_BYTES = 16
#: The bf16 copies of the weights autocast keeps during a step.
AUTOCAST_COPY_BYTES = 2
#: A frozen bf16 weight under LoRA.
FROZEN_BF16_BYTES = 2
#: Logits in bf16 (2), their fp32 upcast for the cross-entropy (4) and its gradient (4).
LOGIT_BYTES = 10
FIXED_OVERHEAD_GIB = 2.0
FRAGMENTATION = 0.10


class Architecture(BaseModel):
    """The dimensions of a Qwen2-family decoder (as in its ``config.json``)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    hidden_size: int = Field(ge=1)
    intermediate_size: int = Field(ge=1)
    num_hidden_layers: int = Field(ge=1)
    num_attention_heads: int = Field(ge=1)
    num_key_value_heads: int = Field(ge=1)
    vocab_size: int = Field(ge=1)
    tie_word_embeddings: bool = False

    @property
    def kv_width(self) -> int:
        """Width of the key (and of the value) projection: kv heads x head dimension."""
        return self.num_key_value_heads * self.hidden_size // self.num_attention_heads

    def layer_parameters(self) -> int:
        """Parameters of one decoder layer: q/k/v with biases (Qwen2), o without, the
        SwiGLU MLP's three matrices, two RMSNorm scales."""
        h, kv, i = self.hidden_size, self.kv_width, self.intermediate_size
        attention = (h * h + h) + 2 * (h * kv + kv) + h * h
        return attention + 3 * h * i + 2 * h

    def parameters(self) -> int:
        """All parameters: embeddings (and an untied output layer), layers, the final norm."""
        embeddings = self.vocab_size * self.hidden_size
        output = 0 if self.tie_word_embeddings else embeddings
        return (
            embeddings
            + output
            + self.num_hidden_layers * self.layer_parameters()
            + (self.hidden_size)
        )

    def lora_parameters(self, rank: int, targets: tuple[str, ...]) -> int:
        """Adapter parameters: rank x (in + out) per wrapped projection and layer."""
        h, kv, i = self.hidden_size, self.kv_width, self.intermediate_size
        shapes = {
            "q_proj": (h, h),
            "k_proj": (h, kv),
            "v_proj": (h, kv),
            "o_proj": (h, h),
            "gate_proj": (h, i),
            "up_proj": (h, i),
            "down_proj": (i, h),
        }
        per_layer = sum(rank * sum(shapes[name]) for name in targets if name in shapes)
        return per_layer * self.num_hidden_layers


@dataclass(frozen=True)
class RunShape:
    """What a run does on each GPU."""

    method: Literal["full", "lora"]
    gpus: int
    sharding: Sharding
    batch_size: int
    sequence_length: int
    gradient_checkpointing: bool
    lora_rank: int = 16
    lora_targets: tuple[str, ...] = ()


@dataclass(frozen=True)
class MemoryEstimate:
    """GiB per GPU, term by term (see the module docstring for each)."""

    parameters: int
    trainable: int
    weights_and_optimizer_gib: float
    gathered_layers_gib: float
    activations_gib: float
    logits_gib: float
    overhead_gib: float

    @property
    def total_gib(self) -> float:
        return (
            self.weights_and_optimizer_gib
            + self.gathered_layers_gib
            + self.activations_gib
            + self.logits_gib
            + self.overhead_gib
        )

    def lines(self) -> list[str]:
        """The estimate as aligned lines, largest terms named, for the dry run."""
        return [
            f"parameters            {self.parameters / 1e9:8.3f} B "
            f"({self.trainable / 1e6:,.1f} M trainable)",
            f"weights + optimizer   {self.weights_and_optimizer_gib:8.2f} GiB",
            f"gathered layers       {self.gathered_layers_gib:8.2f} GiB",
            f"activations           {self.activations_gib:8.2f} GiB",
            f"logits (loss)         {self.logits_gib:8.2f} GiB",
            f"context + overhead    {self.overhead_gib:8.2f} GiB",
            f"total per GPU         {self.total_gib:8.2f} GiB",
        ]


def estimate_memory(arch: Architecture, run: RunShape) -> MemoryEstimate:
    """Peak memory per GPU of one training step of ``run`` on ``arch`` (see module docstring)."""
    params = arch.parameters()
    shards = run.gpus if run.sharding == "fsdp" else 1
    if run.method == "full":
        trainable = params
        state = FULL_STATE_BYTES * params / shards
        state += AUTOCAST_COPY_BYTES * (params if shards == 1 else 0)
    else:
        trainable = arch.lora_parameters(run.lora_rank, run.lora_targets)
        state = FROZEN_BF16_BYTES * params / shards + FULL_STATE_BYTES * trainable
    # FSDP gathers the current layer and prefetches the next one, in bf16.
    gathered = 2 * 2 * arch.layer_parameters() if shards > 1 else 0
    tokens = run.batch_size * run.sequence_length
    h, kv, i = arch.hidden_size, arch.kv_width, arch.intermediate_size
    full_layer = 2 * tokens * (10 * h + 4 * kv + 4 * i)
    if run.gradient_checkpointing:
        activations = arch.num_hidden_layers * 2 * tokens * h + full_layer
    else:
        activations = arch.num_hidden_layers * full_layer
    logits = LOGIT_BYTES * tokens * arch.vocab_size
    variable = (state + gathered + activations + logits) / GIB
    return MemoryEstimate(
        parameters=params,
        trainable=trainable,
        weights_and_optimizer_gib=state / GIB,
        gathered_layers_gib=gathered / GIB,
        activations_gib=activations / GIB,
        logits_gib=logits / GIB,
        overhead_gib=FIXED_OVERHEAD_GIB + FRAGMENTATION * variable,
    )
