"""Training configs validate on load, merge CLI overrides, and pick the stage method."""

from __future__ import annotations

from pathlib import Path

import pytest

from libra_guard.errors import ConfigError
from libra_guard.training.config import TrainConfig, load_train_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_defaults_are_the_quality_benchmarks_settings():
    config = TrainConfig()
    assert (config.method("stage1"), config.method("stage2")) == ("full", "full")
    quality = load_train_config(CONFIGS / "quality.yaml")
    for name in ("stage2_replay", "stage2_validation"):
        assert getattr(config, name) == getattr(quality, name)
    for stage in ("stage1", "stage2"):
        for name in ("epochs", "learning_rate", "evals_per_epoch", "prompt_loss_weight"):
            assert getattr(config.stage(stage), name) == getattr(quality.stage(stage), name)
        assert config.method(stage) == quality.method(stage)


def test_a_pretrained_base_uses_lora_in_both_stages_unless_configured():
    config = TrainConfig(base="/models/qwen2.5-0.5b")
    assert (config.method("stage1"), config.method("stage2")) == ("lora", "lora")
    config = TrainConfig(base="/models/qwen2.5-0.5b", stage2={"method": "full"})
    assert config.method("stage2") == "full"


def test_yaml_values_and_overrides_merge(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text(
        "settings: {state_dir: /tmp/x}\nmax_length: 256\nstage1: {epochs: 3, batch_size: 4}\n",
        encoding="utf-8",
    )
    config = load_train_config(path, **{"stage1.epochs": 0.5, "num_workers": None})
    assert config.max_length == 256
    assert config.stage1.epochs == 0.5
    assert config.stage1.batch_size == 4
    assert config.num_workers == 1


@pytest.mark.parametrize(
    "text", ["stage1: {epochs: -1}\n", "unknown_key: 1\n", "- a list\n", "stage2: {method: qlora}"]
)
def test_invalid_configs_name_the_file(tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.yaml"):
        load_train_config(path)


def test_the_example_config_is_valid():
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "configs" / "train-tiny.yaml"
    config = load_train_config(example)
    assert config.base == "tiny"
    assert example.read_text(encoding="utf-8").startswith("#")


def test_the_prompt_loss_weight_reaches_its_stage_loop_only(synth_rows):
    from libra_guard.training.loop_config import stage_loop_config

    config = TrainConfig(stage2={"prompt_loss_weight": 0.1})
    assert stage_loop_config("stage2", config, synth_rows[:2], "src").prompt_loss_weight == 0.1
    assert stage_loop_config("stage1", config, synth_rows[:2], "src").prompt_loss_weight == 0.0


@pytest.mark.parametrize("weight", [-0.1, 1.5])
def test_a_prompt_loss_weight_outside_0_1_is_refused(tmp_path, weight):
    path = tmp_path / "bad.yaml"
    path.write_text(f"stage2: {{prompt_loss_weight: {weight}}}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="prompt_loss_weight"):
        load_train_config(path)
