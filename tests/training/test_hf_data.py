"""The hf engine's batches: the loss sees only the answer, batches group similar lengths, and
the Trainer deals the native loop's batches to each process."""

from __future__ import annotations

import random

import pytest
from transformers import Qwen2Config, Qwen2ForCausalLM

from libra_guard.modeling.factory import build_tiny_base, load_tokenizer
from libra_guard.modeling.features import IGNORE_INDEX, TrainingExample, encode_row, training_target
from libra_guard.training.batch_order import WindowedLengthSampler, step_indices
from libra_guard.training.hf_args import training_arguments
from libra_guard.training.hf_data import ExampleDataset, GuardCollator
from libra_guard.training.hf_engine import GuardTrainer
from libra_guard.training.loop_config import stage_loop_config
from libra_guard.training.runner import guard_corpus
from tests.tiny import micro_dims
from tests.training.configs import small_config


@pytest.fixture(scope="module")
def tokenizer(synth_rows, tmp_path_factory):
    folder = tmp_path_factory.mktemp("hf-data") / "base"
    build_tiny_base(guard_corpus(synth_rows), micro_dims(vocab_size=800), folder)
    return load_tokenizer(str(folder))


def test_labels_cover_the_answer_only(tokenizer, synth_rows) -> None:
    rows = synth_rows[:6]
    examples = [encode_row(tokenizer, row, 320) for row in rows]
    batch = GuardCollator(tokenizer.pad_token_id)(
        [ExampleDataset(examples)[index] for index in range(len(rows))]
    )
    width = max(len(example.input_ids) for example in examples)
    assert batch["input_ids"].shape == batch["labels"].shape == (len(rows), width)
    for index, row in enumerate(rows):
        labels = batch["labels"][index].tolist()
        learnt = [position for position, label in enumerate(labels) if label != IGNORE_INDEX]
        length = int(batch["attention_mask"][index].sum())
        # One contiguous run at the end of the real tokens: the answer and its end token.
        assert learnt == list(range(learnt[0], length))
        assert labels[learnt[0] : length] == batch["input_ids"][index, learnt[0] : length].tolist()
        answer = tokenizer.decode(labels[learnt[0] : length])
        assert answer == training_target(row) + tokenizer.eos_token


def test_the_trainer_trains_the_native_batches_grouped_by_length(synth_rows, tmp_path) -> None:
    rng = random.Random(5)
    lengths = [rng.randint(8, 300) for _ in range(96)]
    examples = [TrainingExample([1] * n, [IGNORE_INDEX] * (n - 1) + [1], False) for n in lengths]
    config = small_config(engine="hf")
    loop = stage_loop_config("stage1", config, synth_rows, "base")
    model = Qwen2ForCausalLM(
        Qwen2Config(
            vocab_size=32,
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=1,
        )
    )
    trainer = GuardTrainer(
        model=model,
        args=training_arguments(loop, tmp_path, world=1, use_gpu=False),
        train_dataset=ExampleDataset(examples),
        data_collator=GuardCollator(0),
        prompt_loss_weight=0.0,
        validator=None,
    )
    loader = trainer.get_train_dataloader()
    for epoch in (0, 1):
        loader.set_epoch(epoch)
        trained = [batch["attention_mask"].sum(dim=1).tolist() for batch in loader]
        native = [
            [
                lengths[i]
                for i in step_indices(
                    lengths, step, 12, seed=config.seed, batch_size=8, rank=0, world=1
                )
            ]
            for step in range(epoch * 12, epoch * 12 + 12)
        ]
        assert trained == native
    grouped = [batch["attention_mask"] for batch in loader]
    assert sum(len(mask) for mask in grouped) == len(examples)
    grouped_padding = sum(int((mask == 0).sum()) for mask in grouped)
    shuffled = rng.sample(lengths, len(lengths))
    random_padding = sum(
        max(chunk) * len(chunk) - sum(chunk)
        for chunk in (shuffled[i : i + 8] for i in range(0, len(shuffled), 8))
    )
    assert grouped_padding < random_padding / 2


@pytest.mark.parametrize("world", [2, 3])
def test_accelerate_deals_each_process_its_native_batch(world) -> None:
    """accelerate's real ``BatchSamplerShard``, as the Trainer builds it for DDP, gives process
    ``rank`` exactly the rows the native loop's worker ``rank`` trains on."""
    from accelerate.data_loader import BatchSamplerShard
    from torch.utils.data import BatchSampler

    rng = random.Random(world)
    lengths = [rng.randint(8, 300) for _ in range(50)]  # not a multiple of a global batch
    steps = -(-len(lengths) // (4 * world))
    sampler = WindowedLengthSampler(lengths, seed=7, batch_size=4, world=world)
    sampler.set_epoch(1)
    for rank in range(world):
        shard = BatchSamplerShard(BatchSampler(sampler, 4, drop_last=False), world, rank)
        native = [
            step_indices(lengths, step, steps, seed=7, batch_size=4, rank=rank, world=world)
            for step in range(steps, 2 * steps)
        ]
        assert list(shard) == native
