"""The KubeRay ``RayJob`` that runs one training stage in the cluster.

One RayJob per stage: KubeRay creates a Ray cluster (a head and ``num_workers`` worker pods,
one GPU each with ``use_gpu``), submits ``python -m libra_guard.training.stage_job --spec
s3://...`` to it, and tears the cluster down when the job ends. The choices, and why:

- ``submissionMode: HTTPMode``: the operator submits through the head's dashboard, so there is
  no submitter pod. The default (``K8sJobMode``) adds a pod that only tails logs, costs a
  scheduling slot on a small cluster, and is itself a known source of the RayJob reporting a
  different outcome than the Ray job had (the submitter fails or retries while the job runs
  on). The step reads the Ray job's status and logs from the dashboard itself
  (``libra_guard.kube.follow``), which is what the submitter pod would have provided.
- ``jobId`` = the RayJob's name: the Ray job's submission id is known before the operator
  reports it, so the follower can ask the dashboard at once.
- ``backoffLimit: 0``: a failed attempt fails the step, with its reason; retrying is the
  pipeline's decision (a retried step finds the same RayJob by name and resumes from the
  stage's checkpoints on S3).
- ``activeDeadlineSeconds`` = ``LIBRA_RAYJOB_TIMEOUT_S``: KubeRay enforces the timeout even if
  the step that follows the job is gone; ``shutdownAfterJobFinishes`` with
  ``ttlSecondsAfterFinished`` frees the cluster if nobody deletes the RayJob.
- The name comes from the stage's cache key (``rayjob_name``), so a retried step adopts its
  job instead of starting a twin.
- Pods: non-root, all capabilities dropped, no service-account token (the job needs no API
  access), read-only root file system with ``/tmp`` (Ray's session dir, ``HOME``) and
  ``/dev/shm`` (the object store) as emptyDirs with size limits; environment from the
  pipeline's Secret and ConfigMap by reference, minus the variables that would point the job
  at another Ray cluster or back at cluster mode. They pass the ``restricted`` Pod Security
  Standard.
- Labels: the platform's own (``app.kubernetes.io/part-of``, ``component``, the stage, and
  ``libra-guard.io/platform-client`` so the platform's NetworkPolicies admit them to MLflow and
  MinIO), but never ``app.kubernetes.io/name``: KubeRay's ``labelPod`` lets a template label
  override its own ``app.kubernetes.io/name: kuberay`` (``ray-operator/controllers/ray/common/
  pod.go``), while the head Service selects on it (``common/service.go``,
  ``HeadServiceLabels``; kuberay issue 2648). Overridden, the head Service has no endpoint,
  and in HTTPMode the operator can never submit the job through it.
- Ray token authentication (``authOptions: {mode: token, secretName}``): the operator sets
  ``RAY_AUTH_MODE=token`` and ``RAY_AUTH_TOKEN`` from that Secret on every container
  (``common/pod.go``, ``SetContainerTokenAuthEnvVars``), so the dashboard (job submission is
  code execution) answers only callers holding the token.
"""

from __future__ import annotations

import re
import shlex
from importlib import metadata

from libra_guard.kube.wiring import PodResources, RayJobPods

GROUP, VERSION, PLURAL, KIND = "ray.io", "v1", "rayjobs", "RayJob"
ENTRYPOINT_MODULE = "libra_guard.training.stage_job"
#: Annotation holding the full stage key: a RayJob with our name but another key is not ours.
STAGE_KEY_ANNOTATION = "libra-guard.io/stage-key"
STAGE_LABEL = "libra-guard.io/stage"
#: Pods the platform's NetworkPolicies admit to MLflow and MinIO (libra-platform chart).
PLATFORM_CLIENT_LABEL = "libra-guard.io/platform-client"
#: Size limits of the pods' scratch volumes: Ray's session and logs plus the copied starting
#: model (``/tmp``), and Ray's object store (``/dev/shm``, counted against memory).
TMP_SIZE_LIMIT = "20Gi"
SHM_SIZE_LIMIT = "2Gi"
#: Seconds a finished job's cluster stays (dashboard and logs readable) when the step that
#: created it did not delete it, e.g. because its pod was killed.
TTL_AFTER_FINISHED_S = 600
#: The job runs on its own Ray cluster in local-training mode; these would send it elsewhere.
NOT_FOR_RAYJOB = frozenset(
    {"LIBRA_RAY_ADDRESS", "LIBRA_TRAINING_BACKEND", "LIBRA_SERVING_BACKEND", "RAY_ADDRESS"}
)
#: UID/GID the pods run as; the project image's non-root user.
RUN_AS_USER = 1000
#: KubeRay refuses RayJob names longer than this (it derives cluster and pod names from it).
MAX_NAME_LENGTH = 47
_INT32_MAX = 2**31 - 1


def rayjob_name(stage: str, key: str) -> str:
    """``libra-<stage>-<first 16 of key>``: stable for one stage's inputs, a DNS-1123 label."""
    clean_stage = re.sub(r"[^a-z0-9]+", "-", stage.lower()).strip("-") or "stage"
    clean_key = re.sub(r"[^a-z0-9]", "", key.lower())[:16]
    return f"libra-{clean_stage}-{clean_key}"[:MAX_NAME_LENGTH].rstrip("-")


def entrypoint(spec_uri: str) -> str:
    return f"python -m {ENTRYPOINT_MODULE} --spec {shlex.quote(spec_uri)}"


def build_rayjob(
    *,
    name: str,
    namespace: str,
    stage: str,
    key: str,
    spec_uri: str,
    image: str,
    num_workers: int,
    use_gpu: bool,
    timeout_s: int,
    pods: RayJobPods,
) -> dict:
    """The ``ray.io/v1`` RayJob manifest of one stage (see the module docstring)."""
    labels = {
        "app.kubernetes.io/part-of": "libra-guard",
        "app.kubernetes.io/component": "training",
        "app.kubernetes.io/managed-by": "libra-guard",
        PLATFORM_CLIENT_LABEL: "true",
        STAGE_LABEL: stage,
    }
    env = [
        *pods.wiring.env_refs(leave_out=NOT_FOR_RAYJOB),
        {"name": "HOME", "value": "/tmp"},
        # One copy of each worker print in the job log (see training.runner).
        {"name": "RAY_TRAIN_ENABLE_PRINT_PATCH", "value": "0"},
    ]
    head = _pod_template(
        "ray-head", image, env, pods.head, labels, use_gpu=False, ports=_HEAD_PORTS
    )
    worker = _pod_template("ray-worker", image, env, pods.worker, labels, use_gpu=use_gpu)
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": KIND,
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels,
            "annotations": {STAGE_KEY_ANNOTATION: key, "libra-guard.io/spec": spec_uri},
        },
        "spec": {
            "entrypoint": entrypoint(spec_uri),
            "jobId": name,
            "submissionMode": "HTTPMode",
            "backoffLimit": 0,
            "activeDeadlineSeconds": max(1, min(int(timeout_s), _INT32_MAX)),
            "shutdownAfterJobFinishes": True,
            "ttlSecondsAfterFinished": TTL_AFTER_FINISHED_S,
            "rayClusterSpec": {
                "rayVersion": metadata.version("ray"),
                **_auth_options(pods.wiring.ray_token_secret_name),
                "headGroupSpec": {
                    # No training on the head: it hosts the driver, the dashboard and GCS.
                    "rayStartParams": {"dashboard-host": "0.0.0.0", "num-cpus": "0"},
                    "template": head,
                },
                "workerGroupSpecs": [
                    {
                        "groupName": "train",
                        "replicas": num_workers,
                        "minReplicas": num_workers,
                        "maxReplicas": num_workers,
                        "rayStartParams": {},
                        "template": worker,
                    }
                ],
            },
        },
    }


def _auth_options(secret_name: str) -> dict:
    """KubeRay's token authentication with the token from ``secret_name`` (key
    ``auth_token``); nothing when the wiring names no Secret."""
    if not secret_name:
        return {}
    return {"authOptions": {"mode": "token", "secretName": secret_name}}


_HEAD_PORTS = [
    {"name": "gcs-server", "containerPort": 6379},
    {"name": "dashboard", "containerPort": 8265},
    {"name": "client", "containerPort": 10001},
]


def _pod_template(
    container_name: str,
    image: str,
    env: list[dict],
    resources: PodResources,
    labels: dict[str, str],
    *,
    use_gpu: bool,
    ports: list[dict] | None = None,
) -> dict:
    requests: dict[str, str | int] = {
        "cpu": resources.cpu_request,
        "memory": resources.memory_request,
    }
    limits: dict[str, str | int] = {"cpu": resources.cpu_limit, "memory": resources.memory_limit}
    if use_gpu:
        requests["nvidia.com/gpu"] = limits["nvidia.com/gpu"] = 1
    container: dict = {
        "name": container_name,
        "image": image,
        "env": env,
        "resources": {"requests": requests, "limits": limits},
        "securityContext": {
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "seccompProfile": {"type": "RuntimeDefault"},
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "dshm", "mountPath": "/dev/shm"},
        ],
    }
    if ports:
        container["ports"] = ports
    spec: dict = {
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_USER,
            "runAsGroup": RUN_AS_USER,
            "fsGroup": RUN_AS_USER,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": [
            {"name": "tmp", "emptyDir": {"sizeLimit": TMP_SIZE_LIMIT}},
            {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": SHM_SIZE_LIMIT}},
        ],
    }
    if use_gpu:
        spec["tolerations"] = [
            {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
        ]
    return {"metadata": {"labels": dict(labels)}, "spec": spec}
