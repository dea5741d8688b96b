"""The whole cluster-mode path for real, except the Kubernetes side.

Real: the step-side code, object storage through the S3 API (moto standing in for MinIO), the
RayJob entrypoint (``python -m libra_guard.training.stage_job``) training the tiny model with
Ray Train on a real Ray head of its own, whose dashboard the follower reads with
``JobSubmissionClient``. That head is started as KubeRay starts a RayJob's head, with
``ray start --head`` (``ray-operator/controllers/ray/common/pod.go``,
``generateRayStartCommand``) and token authentication (the RayJob's ``authOptions``): a head
of ``ray.init()`` records no address for Ray's job supervisor, which then hands the job's
driver any other Ray found on the machine (the failure met beside a running ``make demo``).
Stand-ins: ``fake_kube`` for the Kubernetes API server (none can run here) and, on it, a small
operator that does what KubeRay does with a RayJob: resolves the pods' env from the ConfigMap
and Secret, submits the entrypoint to the Ray head under the RayJob's ``jobId``, and mirrors the
Ray job's status into ``status``.
"""

from __future__ import annotations

import base64
import sys
import threading
import time
from pathlib import Path

import pytest

from libra_guard.data.synth import generate
from libra_guard.kube.ray_dashboard import RAY_TOKEN_ENV
from libra_guard.kube.wiring import RayJobPods
from libra_guard.modeling.judge import GuardJudge
from libra_guard.settings import Settings
from libra_guard.training.cluster_stage import run_stage_as_rayjob
from libra_guard.training.config import TrainConfig
from libra_guard.training.ray_runtime import local_ray_head
from libra_guard.training.runner import prepare_base
from libra_guard.training.stage_spec import StageWork, exists
from tests.fakes.kube_api import FakeKubeApi
from tests.kube.kuberay import GROUP, PLURAL, VERSION
from tests.pipelines.tiny import TINY_DIMS

pytestmark = pytest.mark.slow


class RayHeadOperator:
    """Plays KubeRay for RayJobs on the fake API server, with a real Ray head as the cluster."""

    def __init__(self, api: FakeKubeApi, dashboard_url: str, token: str, job_tmp: Path) -> None:
        self.api, self.dashboard_url, self.job_tmp = api, dashboard_url, job_tmp
        self.headers = {"Authorization": f"Bearer {token}"}
        self.submitted: list[str] = []
        api.on(PLURAL, self._react)

    def _react(self, api: FakeKubeApi, verb: str, obj: dict) -> None:
        if verb == "create":
            threading.Thread(target=self._run, args=(obj,), daemon=True).start()

    def _run(self, rayjob: dict) -> None:
        from ray.job_submission import JobSubmissionClient

        name, spec = rayjob["metadata"]["name"], rayjob["spec"]
        self._status(name, {"jobDeploymentStatus": "Initializing"})
        head = spec["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
        env = self._resolve_env(head["env"])
        # The image's `python` is this test's interpreter; its /tmp is the test's folder.
        env["TMPDIR"] = str(self.job_tmp)
        entrypoint = spec["entrypoint"].replace("python ", f"{sys.executable} ", 1)
        # HTTPMode (ray-operator/controllers/ray/rayjob_controller.go, reconcile of an
        # Initializing/Running job): a submission the dashboard refuses is requeued and tried
        # again until the status-check timeout, which ends the RayJob Failed with reason
        # JobStatusCheckTimeoutExceeded. A freshly started head answers "No available agent"
        # until its job agent is up; this stand-in retries the same way, for 120 s.
        deadline = time.monotonic() + 120
        while True:
            try:
                client = JobSubmissionClient(f"http://{self.dashboard_url}", headers=self.headers)
                client.submit_job(
                    entrypoint=entrypoint,
                    submission_id=spec["jobId"],
                    runtime_env={"env_vars": env},
                )
                break
            except Exception as exc:
                if time.monotonic() < deadline:
                    time.sleep(2)
                    continue
                self._status(
                    name,
                    {
                        "jobDeploymentStatus": "Failed",
                        "reason": "JobStatusCheckTimeoutExceeded",
                        "message": str(exc),
                    },
                )
                return
        self.submitted.append(spec["jobId"])
        self._status(
            name,
            {
                "jobDeploymentStatus": "Running",
                "jobId": spec["jobId"],
                "dashboardURL": self.dashboard_url,
            },
        )
        while True:
            status = str(client.get_job_status(spec["jobId"]))
            if status in {"SUCCEEDED", "FAILED", "STOPPED"}:
                final = "Complete" if status == "SUCCEEDED" else "Failed"
                self._status(name, {"jobDeploymentStatus": final, "jobStatus": status})
                return
            if not self._status(name, {"jobStatus": status}):
                return  # deleted
            time.sleep(0.5)

    def _resolve_env(self, items: list[dict]) -> dict[str, str]:
        """What the kubelet does with ``valueFrom`` references; missing optional keys skip."""
        env: dict[str, str] = {}
        for item in items:
            if "value" in item:
                continue  # HOME=/tmp and friends describe the pod, not this machine
            source = item["valueFrom"]
            kind, ref = next(iter(source.items()))
            plural = "configmaps" if kind == "configMapKeyRef" else "secrets"
            stored = self.api.get_object("", "v1", "ml", plural, ref["name"]) or {}
            value = (stored.get("data") or {}).get(ref["key"])
            if value is None:
                continue
            env[item["name"]] = (
                value if plural == "configmaps" else base64.b64decode(value).decode()
            )
        return env

    def _status(self, name: str, values: dict) -> bool:
        try:
            self.api.update_stored(
                GROUP,
                VERSION,
                "ml",
                PLURAL,
                name,
                lambda obj: obj.setdefault("status", {}).update(values),
            )
        except KeyError:
            return False
        return True


@pytest.fixture
def rayjob_head(monkeypatch):
    """The RayJob's own Ray cluster: a ``ray start`` head with a token, as KubeRay's; the
    follower reads its dashboard with the token (``LIBRA_RAY_AUTH_TOKEN``)."""
    with local_ray_head(Settings(ray_address=None), print, export_env=False) as head:
        assert head is not None
        monkeypatch.setenv(RAY_TOKEN_ENV, head.auth_token)
        yield head


def test_stage_trains_on_a_real_ray_head_through_the_rayjob_path(
    rayjob_head, fake_kube, artifact_bucket, moto_endpoint, tmp_path
) -> None:
    from tests.kube.conftest import CapturedLog

    fake_kube.put_object(
        "",
        "v1",
        "ml",
        "configmaps",
        {"metadata": {"name": "libra-guard-config"}, "data": {"s3_endpoint": moto_endpoint}},
    )
    secret = {
        key: base64.b64encode(b"testing").decode() for key in ("s3_access_key", "s3_secret_key")
    }
    fake_kube.put_object(
        "", "v1", "ml", "secrets", {"metadata": {"name": "libra-guard-credentials"}, "data": secret}
    )
    job_tmp = tmp_path / "job-tmp"
    job_tmp.mkdir()
    operator = RayHeadOperator(
        fake_kube, rayjob_head.dashboard_url, rayjob_head.auth_token, job_tmp
    )
    settings = Settings(
        training_backend="rayjob",
        artifact_root=f"s3://{artifact_bucket}/libra",
        kube_namespace="ml",
        rayjob_timeout_s=300,
    )
    stage = {"epochs": 1.0, "batch_size": 8, "warmup_steps": 1, "checkpoint_every": 1000}
    config = TrainConfig.model_validate(
        {"tiny": TINY_DIMS, "max_length": 256, "threads_per_worker": 1, "stage1": stage}
    )
    rows = generate(24, seed=5).rows
    work = tmp_path / "work"
    source = prepare_base(config, rows, work, print)
    log = CapturedLog()

    outcome = run_stage_as_rayjob(
        "stage1",
        config,
        rows,
        source,
        work,
        key="c0ffee0000000000000000aa",
        settings=settings,
        log=log,
        api=fake_kube.api_client(),
        pods=RayJobPods(image="registry.local/libra-guard:test"),
        poll_s=0.5,
    )

    assert outcome.steps == 3 and outcome.rows == 24
    assert operator.submitted == ["libra-stage1-c0ffee0000000000"]
    # The job's own progress lines reached the step's log through the dashboard.
    job_lines = [line for line in log if line.startswith("  | ")]
    assert any("stage_job: stage1, key c0ffee" in line for line in job_lines), log.text
    assert any("model uploaded" in line for line in job_lines), log.text
    # Checkpoints stayed in the stage's prefix for a retry to resume from.
    layout = StageWork.under(settings.artifact_root, "c0ffee0000000000000000aa")
    assert exists(layout.checkpoints_uri, settings)
    assert fake_kube.get_object(GROUP, VERSION, "ml", PLURAL, operator.submitted[0]) is None
    scores = GuardJudge.load(outcome.model_dir).verdict_scores([("问题", "回答")])
    assert 0.0 <= scores[0] <= 1.0
