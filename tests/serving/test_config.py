"""``ServingConfig`` validation, the Serve config file, and what the builders produce."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ray.serve.schema import ServeDeploySchema

from libra_guard.errors import ConfigError
from serving.app import build_api_app, build_model_app
from serving.config import ServingConfig, load_serving_config, parse_serving_config
from serving.rollout.serve_config import API_APP, model_app_of

SERVE_CONFIG = Path(__file__).resolve().parents[2] / "serving" / "serve_config.yaml"


def test_the_serve_config_file_is_a_valid_serve_document_with_a_valid_serving_block() -> None:
    document = yaml.safe_load(SERVE_CONFIG.read_text(encoding="utf-8"))
    ServeDeploySchema.model_validate(document)
    api, model = document["applications"]
    assert api["name"] == API_APP and model_app_of(api) == model["name"]
    config = parse_serving_config(api["args"]["serving"])
    assert config.autoscaling is not None and config.autoscaling.max_replicas == 4
    assert load_serving_config(None) == ServingConfig()


@pytest.mark.parametrize(
    ("values", "phrase"),
    [
        ({"batch_max_size": 32, "api_max_ongoing_requests": 8}, "batches could never fill"),
        (
            {"batch_max_size": 2, "model_max_ongoing_requests": 2, "model_max_queued_requests": 4},
            "batches the ingress keeps in flight",
        ),
        ({"max_items": 0}, "max_items"),
        ({"max_items": 64, "batch_max_size": 4, "model_max_queued_requests": 8}, "idle service"),
        ({"threshold": 1.5}, "threshold"),
        ({"autoscaling": {"min_replicas": 3, "max_replicas": 2}}, "below min_replicas"),
        ({"max_item": 3}, "max_item: Extra inputs are not permitted"),
    ],
)
def test_bad_serving_values_name_the_key(values: dict, phrase: str) -> None:
    with pytest.raises(ConfigError, match=phrase):
        parse_serving_config(values)


def test_a_yaml_file_with_a_serving_block_loads(tmp_path: Path) -> None:
    path = tmp_path / "serving.yaml"
    path.write_text("serving:\n  max_items: 3\n  batching: false\n", encoding="utf-8")
    config = load_serving_config(path)
    assert config.max_items == 3 and not config.batching
    with pytest.raises(ConfigError, match="cannot read"):
        load_serving_config(tmp_path / "absent.yaml")


def test_builders_carry_the_bounds_into_the_deployments() -> None:
    config = ServingConfig(model_max_queued_requests=5, retry_after_s=3, num_replicas=2)
    model = build_model_app({"model": "/models/3", "serving": config.model_dump()})
    deployment = model._bound_deployment
    assert deployment.max_queued_requests == 5 and deployment.num_replicas == 2
    api = build_api_app({"serving": config.model_dump()})._bound_deployment
    assert api.max_ongoing_requests == config.api_max_ongoing_requests
    scaled = ServingConfig(autoscaling={"max_replicas": 3}).model_deployment_options()
    assert scaled["autoscaling_config"]["max_replicas"] == 3 and "num_replicas" not in scaled
    with pytest.raises(ConfigError, match=r"args\.model"):
        build_model_app({"serving": {}})
