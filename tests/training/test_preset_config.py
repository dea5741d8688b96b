"""A config naming the ``small`` preset builds it with its own dimensions unless told others."""

from __future__ import annotations

from libra_guard.modeling.presets import PRESETS
from libra_guard.training.config import load_train_config
from tests.tiny import micro_dims


def test_small_preset_uses_its_dims_and_trains_every_weight() -> None:
    config = load_train_config(None, base="small")
    assert config.preset_dims() == PRESETS["small"]
    assert config.method("stage1") == "full"
    assert config.method("stage2") == "full"


def test_explicit_dims_replace_the_presets_and_tiny_is_unchanged(tmp_path) -> None:
    path = tmp_path / "train.yaml"
    path.write_text("base: small\ntiny: {hidden_size: 64, num_hidden_layers: 2}\n")
    config = load_train_config(path)
    assert config.preset_dims().hidden_size == 64
    assert config.preset_dims().num_hidden_layers == 2
    assert load_train_config(None).preset_dims() == PRESETS["tiny"]
    custom = load_train_config(None).model_copy(update={"tiny": micro_dims()})
    assert custom.preset_dims() == micro_dims()


def test_a_model_folder_is_not_a_preset(tmp_path) -> None:
    config = load_train_config(None, base=str(tmp_path))
    assert config.method("stage1") == "lora"


def test_a_dumped_and_reloaded_config_keeps_the_presets_dims() -> None:
    """The pipeline hands each step ``model_dump()`` output; the preset must survive it."""
    config = load_train_config(None, base="qwen2.5-0.5b-shape")
    reloaded = type(config).model_validate(config.model_dump(mode="json"))
    assert reloaded.preset_dims() == PRESETS["qwen2.5-0.5b-shape"]
    assert reloaded.preset_dims().hidden_size == 896
