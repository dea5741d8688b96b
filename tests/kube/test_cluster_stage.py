"""A training stage in cluster mode (``LIBRA_TRAINING_BACKEND=rayjob``), step side: inputs go
to object storage (moto standing in for MinIO), a RayJob is created and followed through
``fake_kube`` (a stand-in for a real Kubernetes API server), the model comes back.

The job itself is played by ``KubeRayPlayer``: instead of training it reads the spec the step
wrote and uploads a small model folder, as ``stage_job`` would. The real entrypoint on a real
Ray head is in ``test_cluster_path_real_ray.py``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest
from kfp.dsl import Dataset, Metrics, Model

from libra_guard.data.io import read_rows, write_jsonl
from libra_guard.data.synth import generate
from libra_guard.errors import ConfigError, ModelError
from libra_guard.kube.rayjob import rayjob_name
from libra_guard.kube.wiring import RAYJOB_PODS_ENV, RayJobPods
from libra_guard.settings import Settings
from libra_guard.training.cluster_stage import (
    discard_stage_work,
    run_stage_as_rayjob,
    train_stage,
)
from libra_guard.training.config import TrainConfig
from libra_guard.training.publish import STAGE_INFO, StageOutcome
from libra_guard.training.stage_spec import StageWork, exists, read_spec, upload_folder
from tests.kube.kuberay import GROUP, PLURAL, VERSION, KubeRayPlayer, Step, running, succeeded
from tests.pipelines.tiny import TINY_DIMS

KEY = "feedc0ffee0123456789abcd"


@pytest.fixture
def settings(artifact_bucket: str, tmp_path: Path) -> Settings:
    return Settings(
        training_backend="rayjob",
        artifact_root=f"s3://{artifact_bucket}/libra",
        kube_namespace="ml",
        state_dir=tmp_path / "state",
    )


@pytest.fixture
def rows():
    return generate(12, seed=1).rows


def _fake_model(folder: Path, rows: int, stage: str = "stage1") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text('{"model_type": "qwen2"}', encoding="utf-8")
    outcome = StageOutcome(stage, "full", rows, str(folder), 4, 1.25, 30.0, 2.0, 0)
    (folder / STAGE_INFO).write_text(json.dumps(asdict(outcome)), encoding="utf-8")
    return folder


def fake_training(settings: Settings, scratch: Path, seen: dict) -> Step:
    """What stage_job does, minus the training: read the spec and rows, upload a model."""

    def act(rayjob: dict) -> None:
        spec = read_spec(rayjob["metadata"]["annotations"]["libra-guard.io/spec"], settings)
        seen["spec"] = spec
        seen["rows"] = read_rows(spec.rows_uri, settings)
        model = _fake_model(scratch / "job-model", len(seen["rows"]), spec.stage)
        upload_folder(model, spec.output_uri, settings, last=STAGE_INFO)

    return Step(action=act, log="stage_job: model uploaded\n")


def _source(tmp_path: Path) -> str:
    base = tmp_path / "base"
    base.mkdir()
    (base / "config.json").write_text("{}", encoding="utf-8")
    (base / "tokenizer.json").write_text("{}", encoding="utf-8")
    return str(base)


def test_stage_runs_as_a_rayjob_and_its_model_comes_back(
    fake_kube, dashboard, settings, rows, tmp_path, step_log
) -> None:
    seen: dict = {}
    player = KubeRayPlayer(
        fake_kube,
        dashboard,
        [running(), fake_training(settings, tmp_path, seen), *succeeded()],
    )
    work = tmp_path / "work"
    outcome = run_stage_as_rayjob(
        "stage1",
        TrainConfig(num_workers=2),
        rows,
        _source(tmp_path),
        work,
        key=KEY,
        settings=settings,
        log=step_log,
        api=fake_kube.api_client(),
        pods=RayJobPods(image="registry.local/libra-guard:9"),
        poll_s=0.02,
    )
    assert Path(outcome.model_dir) == (work / "stage1").resolve()
    assert (work / "stage1" / "config.json").is_file()
    assert outcome.rows == len(rows) and outcome.steps == 4
    assert [row.id for row in seen["rows"]] == [row.id for row in rows]
    layout = StageWork.under(settings.artifact_root, KEY)
    assert seen["spec"].config.storage_path == layout.checkpoints_uri  # resumable on retry
    assert seen["spec"].source == layout.source_uri and seen["spec"].source_is_folder
    assert exists(f"{layout.source_uri}/tokenizer.json", settings)
    (request,) = [r for r in fake_kube.writes(PLURAL) if r.method == "POST"]
    manifest = request.body
    assert manifest["metadata"]["name"] == rayjob_name("stage1", KEY)
    assert manifest["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["replicas"] == 2
    container = manifest["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]
    assert container["containers"][0]["image"] == "registry.local/libra-guard:9"
    assert "  | stage_job: model uploaded" in step_log
    assert player.deleted == [manifest["metadata"]["name"]]


def test_a_stage_finished_in_storage_is_downloaded_without_a_new_job(
    fake_kube, settings, rows, tmp_path, step_log
) -> None:
    layout = StageWork.under(settings.artifact_root, KEY)
    upload_folder(_fake_model(tmp_path / "done", 12), layout.output_uri, settings, last=STAGE_INFO)
    outcome = run_stage_as_rayjob(
        "stage1",
        TrainConfig(),
        rows,
        "tiny",
        tmp_path / "work",
        key=KEY,
        settings=settings,
        log=step_log,
        api=fake_kube.api_client(),
        pods=RayJobPods(image="img:1"),
    )
    assert outcome.steps == 4
    assert fake_kube.writes(PLURAL) == []
    assert any("an earlier attempt finished this stage" in line for line in step_log)


def test_a_failed_job_fails_the_stage_with_the_reason(
    fake_kube, dashboard, settings, rows, tmp_path, step_log
) -> None:
    KubeRayPlayer(
        fake_kube,
        dashboard,
        [
            running("Traceback (most recent call last):\n"),
            Step(ray=("FAILED", "exit code 1: ModelError: cannot load a causal LM from Qwen/x")),
        ],
    )
    with pytest.raises(ModelError) as caught:
        run_stage_as_rayjob(
            "stage2",
            TrainConfig(),
            rows,
            "Qwen/x",
            tmp_path / "work",
            key=KEY,
            settings=settings,
            log=step_log,
            api=fake_kube.api_client(),
            pods=RayJobPods(image="img:1"),
            poll_s=0.02,
        )
    message = str(caught.value)
    assert f"RayJob ml/{rayjob_name('stage2', KEY)}" in message
    assert "cannot load a causal LM from Qwen/x" in message
    assert not (tmp_path / "work" / "stage2").exists()
    assert fake_kube.get_object(GROUP, VERSION, "ml", PLURAL, rayjob_name("stage2", KEY)) is None


def test_cluster_mode_needs_an_s3_artifact_root(rows, tmp_path) -> None:
    settings = Settings(training_backend="rayjob", artifact_root="/data/artifacts")
    with pytest.raises(ConfigError, match="LIBRA_ARTIFACT_ROOT=s3://"):
        train_stage("stage1", TrainConfig(), rows, "tiny", tmp_path, key=KEY, settings=settings)


def test_discarding_the_work_removes_checkpoints_and_inputs(settings, tmp_path) -> None:
    layout = StageWork.under(settings.artifact_root, KEY)
    upload_folder(_fake_model(tmp_path / "ckpt", 3), layout.checkpoints_uri, settings)
    (tmp_path / "work").mkdir()
    discard_stage_work(tmp_path / "work", KEY, settings)
    assert not exists(layout.prefix, settings)
    assert not (tmp_path / "work").exists()


def _kubeconfig(path: Path, server: str) -> Path:
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters: [{{name: fake, cluster: {{server: '{server}'}}}}]\n"
        "users: [{name: step, user: {token: not-checked}}]\n"
        "contexts: [{name: fake, context: {cluster: fake, user: step, namespace: ml}}]\n"
        "current-context: fake\n",
        encoding="utf-8",
    )
    return path


def test_pretrain_component_trains_in_the_cluster_when_configured(
    fake_kube, dashboard, settings, rows, tmp_path, monkeypatch
) -> None:
    from kubernetes.config import kube_config

    from components.pretrain_guard import pretrain_guard
    from tests.components.conftest import artifact

    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("LIBRA_MLFLOW_PARENT_RUN_ID", raising=False)
    kubeconfig = str(_kubeconfig(tmp_path / "kubeconfig", fake_kube.url))
    monkeypatch.setenv("KUBECONFIG", kubeconfig)
    # The client reads KUBECONFIG once, when imported; a step's pod has it set before that.
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", kubeconfig)
    monkeypatch.setenv("LIBRA_TRAINING_BACKEND", "rayjob")
    monkeypatch.setenv("LIBRA_ARTIFACT_ROOT", settings.artifact_root)
    monkeypatch.setenv("LIBRA_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv(RAYJOB_PODS_ENV, RayJobPods(image="img:2").to_env_value())
    seen: dict = {}
    KubeRayPlayer(
        fake_kube, dashboard, [running(), fake_training(settings, tmp_path, seen), *succeeded()]
    )
    data = {}
    for name in ("s1", "s2"):
        data[name] = artifact(Dataset, tmp_path / "data" / f"{name}.jsonl", sha256=name)
        write_jsonl(rows, data[name].path)
    stage1_model = artifact(Model, tmp_path / "out" / "stage1_model")
    metrics = artifact(Metrics, tmp_path / "out" / "metrics")
    pretrain_guard.python_func(
        stage1_data=data["s1"],
        stage2_data=data["s2"],
        train_config={"tiny": TINY_DIMS},
        stage1_model=stage1_model,
        metrics=metrics,
    )
    assert (Path(stage1_model.path) / "config.json").is_file()
    assert stage1_model.metadata["steps"] == 4
    # The tiny base was built here and shipped to the job as its starting model.
    assert seen["spec"].source_is_folder and seen["spec"].stage == "stage1"
    assert not exists(StageWork.under(settings.artifact_root, seen["spec"].key).prefix, settings)
