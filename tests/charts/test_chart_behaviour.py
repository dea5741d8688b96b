"""What the rendered charts do: credentials, RBAC, GPU placement, the Serve config the
RayService carries, the NetworkPolicy, and the names the pipeline tasks rely on."""

from __future__ import annotations

import base64
import json

import pytest
import yaml

from libra_guard.kube.wiring import EnvWiring
from libra_guard.tracking.model_version import ModelVersion
from serving.config import ServingConfig
from serving.rollout.base import ModelTarget
from serving.rollout.serve_config import api_app_config, model_app_config, serve_document
from tests.charts.manifests import (
    CHARTS_DIR,
    by_kind,
    containers,
    merged_values,
    render,
    render_error,
)

#: Secret keys that hold a password or key (the others hold user names / access key ids).
CREDENTIAL_KEYS = {
    "password",
    "root-password",
    "s3_secret_key",
    "api-key",
    "auth_token",
    "flask_secret_key",
}


def secret_data(objects: list[dict]) -> dict[tuple[str, str], str]:
    return {
        (obj["metadata"]["name"], key): base64.b64decode(value).decode()
        for obj in by_kind(objects, "Secret")
        for key, value in (obj.get("data") or {}).items()
    }


def secret_refs(objects: list[dict]) -> set[str]:
    """Names of the Secrets the containers' env refers to."""
    names = set()
    for obj in objects:
        for _, container, _ in containers(obj):
            for env in container.get("env") or []:
                ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    names.add(ref["name"])
    return names


def serve_config_of(objects: list[dict]) -> dict:
    (service,) = by_kind(objects, "RayService")
    return yaml.safe_load(service["spec"]["serveConfigV2"])


# -- credentials -------------------------------------------------------------------------------


@pytest.mark.parametrize("chart", ["libra-platform", "libra-guard"])
def test_default_credentials_are_generated_not_taken_from_values(helm, chart):
    first = secret_data(render(chart, cached=False))
    second = secret_data(render(chart, cached=False))
    credentials = {key for key in first if key[1] in CREDENTIAL_KEYS}
    assert credentials, "the default render creates no credential Secret"
    values_text = (CHARTS_DIR / chart / "values.yaml").read_text(encoding="utf-8")
    for key in credentials:
        assert len(first[key]) >= 32, key
        assert first[key] != second[key], f"{key} is the same in two renders: a fixed password"
        assert first[key] not in values_text, key


def test_a_given_password_is_used(helm):
    objects = render("libra-platform", set_values=["postgresql.auth.password=Given-pass_123"])
    assert secret_data(objects)[("test-libra-platform-postgresql", "password")] == "Given-pass_123"


def test_existing_secrets_replace_the_platform_ones(helm):
    objects = render(
        "libra-platform",
        set_values=[
            "postgresql.auth.existingSecret=pg-creds",
            "minio.auth.existingSecret=minio-creds",
            "pipeline.credentials.existingSecret=pipeline-creds",
            "rayAuth.existingSecret=ray-token",
            "mlflow.auth.existingSecret=mlflow-users",
        ],
    )
    assert by_kind(objects, "Secret") == []
    assert secret_refs(objects) == {"pg-creds", "minio-creds", "pipeline-creds", "mlflow-users"}
    assert secret_refs(render("libra-platform")) == {
        "test-libra-platform-postgresql",
        "test-libra-platform-minio",
        "libra-guard-credentials",
        "libra-mlflow-auth",
    }


def test_existing_secret_replaces_the_guard_api_key(helm):
    objects = render(
        "libra-guard",
        set_values=["apiKey.existingSecret=my-api-key", "rayAuth.existingSecret=my-ray-token"],
    )
    assert by_kind(objects, "Secret") == []
    for where, container, _ in containers(by_kind(objects, "RayService")[0]):
        if where.endswith("autoscaler"):
            continue
        (api_key,) = [env for env in container["env"] if env["name"] == "LIBRA_API_KEY"]
        assert api_key["valueFrom"]["secretKeyRef"] == {"name": "my-api-key", "key": "api-key"}


def test_mlflow_password_stays_off_the_command_line(helm):
    (mlflow,) = [o for o in by_kind(render("libra-platform"), "Deployment") if "mlflow" in str(o)]
    container = mlflow["spec"]["template"]["spec"]["containers"][0]
    command = container["command"]
    (uri,) = [arg for arg in command if arg.startswith("--backend-store-uri=")]
    assert uri.startswith("--backend-store-uri=postgresql+psycopg2://mlflow@")
    assert "PASSWORD" not in " ".join(command) and "$(" not in " ".join(command)
    (password,) = [env for env in container["env"] if env["name"] == "PGPASSWORD"]
    assert password["valueFrom"]["secretKeyRef"]["name"] == "test-libra-platform-postgresql"
    assert "--artifacts-destination=s3://mlflow-artifacts/" in command


def _mlflow_container(objects: list[dict]) -> dict:
    (mlflow,) = [
        o for o in by_kind(objects, "Deployment") if o["metadata"]["name"].endswith("mlflow")
    ]
    return mlflow["spec"]["template"]["spec"]


def test_mlflow_runs_the_basic_auth_app_with_its_config_from_the_secret(helm):
    objects = render("libra-platform")
    spec = _mlflow_container(objects)
    container = spec["containers"][0]
    assert "--app-name=basic-auth" in container["command"]
    env = {item["name"]: item for item in container["env"]}
    for variable, key in (
        ("MLFLOW_AUTH_ADMIN_USERNAME", "username"),
        ("MLFLOW_AUTH_ADMIN_PASSWORD", "password"),
        ("MLFLOW_FLASK_SERVER_SECRET_KEY", "flask_secret_key"),
    ):
        assert env[variable]["valueFrom"]["secretKeyRef"] == {
            "name": "libra-mlflow-auth",
            "key": key,
        }
    data = secret_data(objects)
    assert len(data[("libra-mlflow-auth", "password")]) >= 12  # MLflow's minimum
    assert data[("libra-mlflow-auth", "username")] == "libra-platform"
    # The config file: no grant for a user without one, users beside the tracking data.
    config_path = env["MLFLOW_AUTH_CONFIG_PATH"]["value"]
    (mount,) = [m for m in container["volumeMounts"] if config_path.startswith(m["mountPath"])]
    (volume,) = [v for v in spec["volumes"] if v["name"] == mount["name"]]
    config_maps = {o["metadata"]["name"]: o for o in by_kind(objects, "ConfigMap")}
    ini = config_maps[volume["configMap"]["name"]]["data"][config_path.rsplit("/", 1)[1]]
    settings = dict(line.split(" = ", 1) for line in ini.splitlines() if " = " in line)
    assert settings["default_permission"] == "NO_PERMISSIONS"
    assert settings["database_uri"].startswith("postgresql+psycopg2://mlflow@")
    assert "password" not in ini.lower()
    # The probes still reach /health, which the basic-auth app leaves open
    # (tests/tracking/test_registry_auth.py starts the real app and polls it).
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["path"] == "/health"


def test_an_mlflow_password_shorter_than_mlflow_accepts_is_refused(helm):
    assert "password" in render_error("libra-platform", set_values=["mlflow.auth.password=short"])


def test_guard_replicas_log_in_to_mlflow_from_the_secret(helm):
    objects = render("libra-guard", set_values=["platform.mlflowAuthSecretName=ml-user"])
    for where, container, _ in containers(by_kind(objects, "RayService")[0]):
        if where.endswith("autoscaler"):
            continue
        env = {e["name"]: e.get("valueFrom") for e in container["env"]}
        assert env["MLFLOW_TRACKING_USERNAME"]["secretKeyRef"] == {
            "name": "ml-user",
            "key": "username",
        }, where
        assert env["MLFLOW_TRACKING_PASSWORD"]["secretKeyRef"] == {
            "name": "ml-user",
            "key": "password",
        }, where


# -- the pipeline's wiring and rights ------------------------------------------------------------


def test_config_map_and_secret_carry_what_the_pipeline_reads(helm):
    # pipelines.config.ClusterWiring takes these defaults (importing it would load torch).
    wiring = EnvWiring()
    objects = render("libra-platform")
    config_maps = {o["metadata"]["name"]: o for o in by_kind(objects, "ConfigMap")}
    data = config_maps[wiring.config_map_name]["data"]
    assert set(data) <= set(wiring.config_map_env), "a key no task reads"
    assert data == {
        "mlflow_tracking_uri": "http://test-libra-platform-mlflow.libra.svc:5000",
        "s3_endpoint": "http://test-libra-platform-minio.libra.svc:9000",
        "training_backend": "rayjob",
        "serving_backend": "rayservice",
        "artifact_root": "s3://libra-artifacts",
        "kube_namespace": "libra",
        "rayservice_name": "libra-guard",
    }
    keys = {key for name, key in secret_data(objects) if name == wiring.secret_name}
    assert keys == set(wiring.secret_env)
    assert {
        key for name, key in secret_data(objects) if name == wiring.mlflow_auth_secret_name
    } >= (set(wiring.mlflow_auth_env))
    # The guard's pods read the ConfigMap and the MLflow user, never the S3 keys.
    guard = merged_values("libra-guard")["platform"]
    assert guard == {
        "configMapName": wiring.config_map_name,
        "mlflowAuthSecretName": wiring.mlflow_auth_secret_name,
    }


def test_the_rayservice_is_where_the_pipeline_looks_for_it(helm):
    rayservice_name = merged_values("libra-platform")["pipeline"]["config"]["rayserviceName"]
    guard = render("libra-guard", release="libra-guard")
    (service,) = by_kind(guard, "RayService")
    assert service["metadata"]["name"] == rayservice_name


def test_an_artifact_root_outside_the_bucket_list_is_refused(helm):
    error = render_error("libra-platform", set_values=["pipeline.config.artifactRoot=s3://nope/x"])
    assert "pipeline.config.artifactRoot" in error and "minio.buckets" in error


def test_bucket_job_creates_the_listed_buckets_and_limits_the_user_to_them(helm):
    objects = render(
        "libra-platform",
        set_values=["minio.buckets={mlflow-artifacts,extra}", "pipeline.config.artifactRoot="],
    )
    (config_map,) = [o for o in by_kind(objects, "ConfigMap") if "buckets" in o["data"]]
    assert config_map["data"]["buckets"] == "mlflow-artifacts extra"
    policy = yaml.safe_load(config_map["data"]["policy.json"])
    resources = {r for statement in policy["Statement"] for r in statement["Resource"]}
    assert resources == {
        "arn:aws:s3:::mlflow-artifacts",
        "arn:aws:s3:::extra",
        "arn:aws:s3:::mlflow-artifacts/*",
        "arn:aws:s3:::extra/*",
    }
    (job,) = by_kind(objects, "Job")
    assert "post-install" in job["metadata"]["annotations"]["helm.sh/hook"]


def test_an_artifacts_bucket_outside_the_bucket_list_is_refused(helm):
    error = render_error("libra-platform", set_values=["mlflow.artifactsBucket=elsewhere"])
    assert "mlflow.artifactsBucket" in error and "minio.buckets" in error


# -- the guard service ------------------------------------------------------------------------


def worker_groups(objects: list[dict]) -> dict[str, dict]:
    (service,) = by_kind(objects, "RayService")
    return {g["groupName"]: g for g in service["spec"]["rayClusterConfig"]["workerGroupSpecs"]}


def test_gpu_values_add_a_gpu_worker_group_with_limits_and_tolerations(helm):
    assert "nvidia.com/gpu" not in str(worker_groups(render("libra-guard")))
    groups = worker_groups(render("libra-guard", ["values-gpu.yaml"]))
    pod = groups["gpu"]["template"]["spec"]
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod[
        "tolerations"
    ]
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert serve_config_of(render("libra-guard", ["values-gpu.yaml"]))["applications"][1]["args"][
        "serving"
    ]["model_num_gpus"] == pytest.approx(1.0)


def test_gpu_replicas_without_gpu_workers_are_refused(helm):
    error = render_error("libra-guard", set_values=["serving.model_num_gpus=1"])
    assert "gpuWorkers.enabled" in error


@pytest.mark.parametrize(
    ("values", "set_values"),
    [
        ((), ()),
        (("values-kind.yaml",), ()),
        (("values-gpu.yaml",), ()),
        ((), ("model.version=3.1", "model.uri=models:/libra-guard@champion", "serve.port=8080")),
        ((), ("serving.autoscaling=null", "serving.num_replicas=2")),
    ],
)
def test_serve_config_is_what_serving_rollout_builds(helm, values, set_values):
    rendered = serve_config_of(render("libra-guard", values, set_values))
    merged = merged_values("libra-guard", values)
    for assignment in set_values:
        path, value = assignment.split("=", 1)
        *parents, leaf = path.split(".")
        node = merged
        for part in parents:
            node = node[part]
        node[leaf] = yaml.safe_load(value)
    model = merged["model"]
    target = ModelTarget(
        ModelVersion(
            model["name"], str(model["version"]), tuple(model["aliases"]), model["lineage"]
        ),
        model["uri"] or f"models:/{model['name']}/{model['version']}",
    )
    config = ServingConfig.model_validate(merged["serving"])
    expected = serve_document(
        [
            api_app_config(target.app_name, config),
            model_app_config(target.app_name, target.source, target.model, config),
        ],
        host="0.0.0.0",
        port=merged["serve"]["port"],
    )
    assert rendered == expected


def test_serve_autoscaling_and_ray_autoscaling_are_on_by_default(helm):
    objects = render("libra-guard")
    (service,) = by_kind(objects, "RayService")
    assert service["spec"]["rayClusterConfig"]["enableInTreeAutoscaling"] is True
    serving = serve_config_of(objects)["applications"][1]["args"]["serving"]
    options = ServingConfig.model_validate(serving).model_deployment_options()
    assert (
        options["autoscaling_config"]["max_replicas"]
        > options["autoscaling_config"]["min_replicas"]
    )


def test_ray_containers_read_mlflow_and_minio_from_the_platform(helm):
    objects = render(
        "libra-guard",
        set_values=["platform.configMapName=other-config"],
    )
    for where, container, _ in containers(by_kind(objects, "RayService")[0]):
        if where.endswith("autoscaler"):
            continue
        env = {e["name"]: e.get("valueFrom") for e in container["env"]}
        assert env["MLFLOW_TRACKING_URI"]["configMapKeyRef"]["name"] == "other-config", where
        assert env["LIBRA_S3_ENDPOINT"]["configMapKeyRef"]["name"] == "other-config", where
        # The replicas only download models, through MLflow's artifact proxy: no S3 keys.
        assert not {"LIBRA_S3_ACCESS_KEY", "LIBRA_S3_SECRET_KEY"} & set(env), where
        assert "libra-guard-credentials" not in json.dumps(container), where
    # The S3-keys secret the chart once took is gone: naming it is refused, not ignored.
    assert "secretName" in render_error(
        "libra-guard", set_values=["platform.secretName=other-creds"]
    )


def test_network_policy_admits_only_the_configured_clients_to_the_serve_port(helm):
    objects = render("libra-guard", ["values-kind.yaml"])
    (policy,) = by_kind(objects, "NetworkPolicy")
    rules = policy["spec"]["ingress"]
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    (serve_rule,) = [r for r in rules if r.get("ports") == [{"protocol": "TCP", "port": 8000}]]
    clients = merged_values("libra-guard", ["values-kind.yaml"])["networkPolicy"]["clients"]
    test_pod = serve_rule["from"][0]["podSelector"]["matchLabels"]
    assert test_pod["app.kubernetes.io/component"] == "test"
    assert serve_rule["from"][1:] == clients
    other_ports = [p for r in rules if r is not serve_rule for p in r.get("ports", [])]
    # The operator: the dashboard and its proxy health check on the serve port.
    assert other_ports == [{"protocol": "TCP", "port": 8265}, {"protocol": "TCP", "port": 8000}]
    (own_pods_rule,) = [r for r in rules if "ports" not in r]
    assert own_pods_rule["from"] == [{"podSelector": policy["spec"]["podSelector"]}]


def test_pod_disruption_budget_covers_the_workers_only(helm):
    objects = render("libra-guard")
    (budget,) = by_kind(objects, "PodDisruptionBudget")
    selector = budget["spec"]["selector"]["matchLabels"]
    assert selector["app.kubernetes.io/component"] == "ray-worker"
    for group in worker_groups(objects).values():
        labels = group["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items()


def test_chart_serving_values_and_schema_follow_serving_config():
    fields = set(ServingConfig.model_fields)
    assert set(merged_values("libra-guard")["serving"]) == fields
    schema = json.loads((CHARTS_DIR / "libra-guard" / "values.schema.json").read_text("utf-8"))
    assert set(schema["properties"]["serving"]["properties"]) == fields
    ServingConfig.model_validate(merged_values("libra-guard")["serving"])


# -- what KubeRay 1.7 does with the RayService (tests/kube/kuberay.py copies its rules) -----------


@pytest.mark.parametrize("values", [(), ("values-gpu.yaml",), ("values-kind.yaml",)])
def test_kuberays_head_service_selects_the_head_pod(helm, values):
    from tests.kube.kuberay import head_service_selector, label_pod, selects

    (service,) = by_kind(render("libra-guard", values), "RayService")
    template = service["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]
    labels = label_pod("head", "c", "headgroup", template["metadata"]["labels"])
    assert selects(head_service_selector("c"), labels), labels


def test_every_node_runs_a_serve_proxy_for_kuberays_worker_readiness_probe(helm):
    # KubeRay probes localhost:8000/-/healthz on RayService workers (common/pod.go).
    assert serve_config_of(render("libra-guard"))["proxy_location"] == "EveryNode"


@pytest.mark.parametrize("autoscaler", [True, False])
def test_the_head_mounts_the_token_the_autoscaler_reads(helm, autoscaler):
    # node_provider.py reads the service-account token at start; only the head runs it.
    objects = render("libra-guard", set_values=[f"autoscaler.enabled={str(autoscaler).lower()}"])
    cluster = by_kind(objects, "RayService")[0]["spec"]["rayClusterConfig"]
    assert cluster["headGroupSpec"]["template"]["spec"]["automountServiceAccountToken"] is (
        autoscaler
    )
    for group in cluster["workerGroupSpecs"]:
        assert group["template"]["spec"]["automountServiceAccountToken"] is False


def test_ray_token_auth_reads_a_kept_generated_secret(helm):
    objects = render("libra-guard")
    cluster = by_kind(objects, "RayService")[0]["spec"]["rayClusterConfig"]
    assert cluster["authOptions"] == {"mode": "token", "secretName": "test-libra-guard-ray-token"}
    (secret,) = [s for s in by_kind(objects, "Secret") if s["metadata"]["name"].endswith("token")]
    assert len(base64.b64decode(secret["data"]["auth_token"])) >= 32
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


def test_gpu_values_size_tmp_for_the_models_they_download(helm):
    (service,) = by_kind(render("libra-guard", ["values-gpu.yaml"]), "RayService")
    (group,) = service["spec"]["rayClusterConfig"]["workerGroupSpecs"]
    (tmp,) = [v for v in group["template"]["spec"]["volumes"] if v["name"] == "tmp"]
    assert tmp["emptyDir"]["sizeLimit"] == "80Gi"
