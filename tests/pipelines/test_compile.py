"""The compiled IR YAML: checked in, free of drift, and wired for the cluster."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from libra_guard.errors import ConfigError
from pipelines.config import PipelineConfig, PipelineOptions, load_pipeline_config
from pipelines.libra_guard_pipeline import COMPILED_YAML, compile_pipeline

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_checked_in_yaml_matches_the_code(tmp_path: Path) -> None:
    fresh = compile_pipeline(tmp_path / "pipeline.yaml")
    assert fresh.read_text(encoding="utf-8") == COMPILED_YAML.read_text(encoding="utf-8"), (
        f"{COMPILED_YAML} drifted from the pipeline code; run `libra-guard compile` and "
        "commit the result"
    )


def _platform_env(compiled: Path) -> dict:
    documents = list(yaml.safe_load_all(compiled.read_text(encoding="utf-8")))
    platform = documents[1] if len(documents) > 1 else {}
    return platform.get("platforms", {}).get("kubernetes", {}).get("deploymentSpec", {})


def test_cluster_variant_carries_secret_and_config_map_env(tmp_path: Path) -> None:
    config = PipelineConfig.model_validate(
        {"cluster": {"secret_name": "s3-creds", "config_map_name": "guard-endpoints"}}
    )
    compiled = compile_pipeline(tmp_path / "cluster.yaml", config.options())
    executors = _platform_env(compiled)["executors"]
    assert set(executors) >= {"exec-pretrain-guard", "exec-gate", "exec-register-guard"}
    train = executors["exec-pretrain-guard"]
    (s3,) = [ref for ref in train["secretAsEnv"] if ref["secretName"] == "s3-creds"]
    assert {item["envVar"] for item in s3["keyToEnv"]} == {
        "LIBRA_S3_ACCESS_KEY",
        "LIBRA_S3_SECRET_KEY",
    }
    assert train["configMapAsEnv"][0]["configMapName"] == "guard-endpoints"
    # A key the ConfigMap leaves out keeps the setting's default instead of blocking the pod.
    assert train["configMapAsEnv"][0]["optional"] is True
    # Only the rollout step calls the guard API, so only it gets the API key.
    deploy = executors["exec-deploy-guard"]
    assert deploy["secretAsEnv"][-1]["secretName"] == "libra-guard-api-key"
    assert deploy["secretAsEnv"][-1]["keyToEnv"] == [
        {"secretKey": "api-key", "envVar": "LIBRA_API_KEY"}
    ]
    assert all(ref["secretName"] != "libra-guard-api-key" for ref in train["secretAsEnv"])


def test_every_cluster_task_logs_in_to_mlflow_from_the_secret(tmp_path: Path) -> None:
    # MLflow's basic-auth app refuses anonymous calls (tests/tracking/test_registry_auth.py).
    config = PipelineConfig.model_validate({"cluster": {"mlflow_auth_secret_name": "ml-user"}})
    compiled = compile_pipeline(tmp_path / "cluster.yaml", config.options())
    executors = _platform_env(compiled)["executors"]
    assert set(executors) >= {"exec-pretrain-guard", "exec-register-guard", "exec-deploy-guard"}
    for name, executor in executors.items():
        (auth,) = [ref for ref in executor["secretAsEnv"] if ref["secretName"] == "ml-user"]
        assert auth["keyToEnv"] == [
            {"secretKey": "username", "envVar": "MLFLOW_TRACKING_USERNAME"},
            {"secretKey": "password", "envVar": "MLFLOW_TRACKING_PASSWORD"},
        ], name
        # A missing Secret stops the pod with its name instead of running anonymously.
        assert auth.get("optional") in (None, False), name


def test_local_variant_has_no_kubernetes_wiring(tmp_path: Path) -> None:
    compiled = compile_pipeline(tmp_path / "local.yaml", PipelineConfig().options(cluster=False))
    assert _platform_env(compiled) == {}


def test_gpu_and_resources_are_baked_into_training_tasks(tmp_path: Path) -> None:
    options = PipelineOptions(
        use_gpu=True, resources={"cpu_request": "3", "memory_limit": "20G"}, cluster=None
    )
    spec = yaml.safe_load(compile_pipeline(tmp_path / "gpu.yaml", options).read_text("utf-8"))
    executors = spec["deploymentSpec"]["executors"]
    resources = executors["exec-pretrain-guard"]["container"]["resources"]
    assert resources["accelerator"]["resourceType"] == "nvidia.com/gpu"
    assert resources["accelerator"]["resourceCount"] == "1"
    assert resources["resourceCpuRequest"] == "3"
    assert resources["resourceMemoryLimit"] == "20G"
    assert "resources" not in executors["exec-gate"]["container"]


def test_example_config_loads() -> None:
    config = load_pipeline_config(REPO_ROOT / "configs" / "pipeline.yaml")
    assert config.experiment == "libra-guard"
    assert config.gate.min_average_accuracy == pytest.approx(0.6)


def test_bad_threshold_names_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("gate:\n  min_average_accuracy: 1.5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="min_average_accuracy"):
        load_pipeline_config(bad)


def test_an_old_demo_block_is_refused_with_its_new_place(tmp_path: Path) -> None:
    old = tmp_path / "old.yaml"
    old.write_text("demo:\n  seed: 3\n  train:\n    base: tiny\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"demo: block was split .*demo\.train -> train"):
        load_pipeline_config(old)
    flat = tmp_path / "flat.yaml"
    flat.write_text("stage1_rows: 100\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"stage1_rows -> data\.stage1_rows"):
        load_pipeline_config(flat)


def test_arguments_dump_each_typed_part_only_at_the_kfp_boundary() -> None:
    config = PipelineConfig.model_validate(
        {"data": {"seed": 4}, "eval": {"mode": "generate", "batch_size": 3}}
    )
    arguments = config.arguments()
    assert arguments["data_config"]["seed"] == 4
    assert "train" not in arguments["data_config"]
    assert (arguments["eval_mode"], arguments["eval_batch_size"]) == ("generate", 3)
    assert arguments["train_config"]["base"] == config.train.base


def test_cluster_training_tasks_book_no_gpu_their_rayjob_workers_do(tmp_path: Path) -> None:
    # rayjob mode: the task only follows its RayJob, whose workers request nvidia.com/gpu.
    compiled = compile_pipeline(tmp_path / "c.yaml", PipelineOptions(use_gpu=True))
    spec = next(yaml.safe_load_all(compiled.read_text("utf-8")))
    for executor in ("exec-pretrain-guard", "exec-finetune-guard"):
        resources = spec["deploymentSpec"]["executors"][executor]["container"]["resources"]
        assert "accelerator" not in resources, executor
    in_task = PipelineOptions(use_gpu=True, gpu_in_task=True)
    spec = next(yaml.safe_load_all(compile_pipeline(tmp_path / "t.yaml", in_task).read_text()))
    resources = spec["deploymentSpec"]["executors"]["exec-pretrain-guard"]["container"]
    assert resources["resources"]["accelerator"]["resourceType"] == "nvidia.com/gpu"


def test_pipeline_pods_carry_the_labels_the_network_policies_admit(tmp_path: Path) -> None:
    compiled = compile_pipeline(tmp_path / "cluster.yaml", PipelineConfig().options())
    executors = _platform_env(compiled)["executors"]
    for name, executor in executors.items():
        labels = executor.get("podMetadata", {}).get("labels", {})
        assert labels.get("libra-guard.io/platform-client") == "true", name
        assert labels.get("libra-guard.io/pipeline") == "true", name
        # Only the rollout step calls the guard; only it may reach the serve port.
        assert (labels.get("libra-guard.io/client") == "true") == (name == "exec-deploy-guard")
    train = executors["exec-pretrain-guard"]
    (token,) = [ref for ref in train["secretAsEnv"] if ref["secretName"] == "libra-ray-token"]
    assert token["keyToEnv"] == [{"secretKey": "auth_token", "envVar": "LIBRA_RAY_AUTH_TOKEN"}]
