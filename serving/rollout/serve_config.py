"""The Serve config (``ServeDeploySchema``) of the guard service, as a plain dict.

Both rollout implementations write the same document: the local one PUTs it to the Ray
dashboard's Serve REST API, a RayService carries it as ``serveConfigV2``. One API application
(route ``/``) and one model application per served version (no route); the API's
``user_config.model_app`` says which one gets the traffic.
"""

from __future__ import annotations

from pydantic import ValidationError

from libra_guard.tracking.model_version import ModelVersion
from serving.app import API_DEPLOYMENT, MODEL_DEPLOYMENT
from serving.config import ServingConfig

API_APP = "libra-guard"
API_IMPORT_PATH = "serving.app:build_api_app"
MODEL_IMPORT_PATH = "serving.app:build_model_app"


def api_app_config(
    model_app: str,
    config: ServingConfig,
    *,
    name: str = API_APP,
    runtime_env: dict | None = None,
    bind_host: str | None = None,
) -> dict:
    """The API application, sending traffic to ``model_app``.

    ``bind_host``: the HTTP host Serve listens on; the ingress requires auth unless it is a
    loopback address (unknown counts as not loopback).
    """
    args: dict = {"serving": config.model_dump(mode="json")}
    if bind_host is not None:
        args["bind_host"] = bind_host
    app = {
        "name": name,
        "route_prefix": "/",
        "import_path": API_IMPORT_PATH,
        "args": args,
        "deployments": [{"name": API_DEPLOYMENT, "user_config": {"model_app": model_app}}],
    }
    if runtime_env:
        app["runtime_env"] = runtime_env
    return app


def model_app_config(
    app_name: str,
    source: str,
    model: ModelVersion,
    config: ServingConfig,
    *,
    runtime_env: dict | None = None,
) -> dict:
    """One model application: replicas load ``source`` (a pinned ``models:/`` URI, or an
    unregistered model's folder) and report ``model``."""
    app = {
        "name": app_name,
        "route_prefix": None,
        "import_path": MODEL_IMPORT_PATH,
        "args": {"model": source, "serving": config.model_dump(mode="json")},
        "deployments": [{"name": MODEL_DEPLOYMENT, "user_config": {"model": model.to_dict()}}],
    }
    if runtime_env:
        app["runtime_env"] = runtime_env
    return app


def serve_document(applications: list[dict], *, host: str, port: int) -> dict:
    """The whole ``ServeDeploySchema`` document. A proxy on every node (Serve's default): on
    a RayService, KubeRay probes each worker's ``localhost:8000/-/healthz`` for readiness
    (``ray-operator/controllers/ray/common/pod.go``), so a worker without one stays NotReady."""
    return {
        "proxy_location": "EveryNode",
        "http_options": {"host": host, "port": port},
        "applications": applications,
    }


def model_app_of(api_app: dict) -> str | None:
    """The model application an API application config sends traffic to."""
    for deployment in api_app.get("deployments", []):
        if deployment.get("name") == API_DEPLOYMENT:
            return (deployment.get("user_config") or {}).get("model_app")
    return None


def with_model_app(api_app: dict, model_app: str) -> dict:
    """A copy of the API application config that sends traffic to ``model_app``."""
    deployments = [dict(d) for d in api_app.get("deployments", [])]
    for deployment in deployments:
        if deployment.get("name") == API_DEPLOYMENT:
            deployment["user_config"] = {"model_app": model_app}
    return {**api_app, "deployments": deployments}


def with_model(model_app: dict, model: ModelVersion) -> dict:
    """A copy of a model application config that reports ``model``."""
    deployments = [dict(d) for d in model_app.get("deployments", [])]
    for deployment in deployments:
        if deployment.get("name") == MODEL_DEPLOYMENT:
            deployment["user_config"] = {"model": model.to_dict()}
    return {**model_app, "deployments": deployments}


def model_of(model_app: dict) -> ModelVersion | None:
    """The ``ModelVersion`` a model application reports, or ``None`` when it names none."""
    for deployment in model_app.get("deployments", []):
        if deployment.get("name") == MODEL_DEPLOYMENT:
            values = (deployment.get("user_config") or {}).get("model")
            if isinstance(values, dict) and "name" in values and "version" in values:
                return ModelVersion.from_dict(values)
    return None


# -- the smoke route (RayService rollouts) -------------------------------------------------
# In a cluster the rollout reaches the guard only over HTTP, and a model application has no
# route. For the smoke set a second, temporary API application with its own route prefix
# sends work to the new model application: the same ingress code, validation and auth that
# traffic will go through, while ``/`` still reaches the serving version. Serve routes by
# the longest matching prefix, so ``/`` never shadows it.

SMOKE_APP_PREFIX = "smoke-"
SMOKE_ROUTE_PREFIX = "/rollout-smoke"


def smoke_app_name(model_app: str) -> str:
    """The temporary API application that routes to ``model_app``."""
    return f"{SMOKE_APP_PREFIX}{model_app}"


def smoke_route(model_app: str) -> str:
    """Its route prefix, e.g. ``/rollout-smoke/libra-guard-v3``."""
    return f"{SMOKE_ROUTE_PREFIX}/{model_app}"


def smoke_api_app_config(
    model_app: str, config: ServingConfig, *, runtime_env: dict | None = None
) -> dict:
    """An API application on ``smoke_route(model_app)`` that sends its work to ``model_app``."""
    app = api_app_config(model_app, config, name=smoke_app_name(model_app), runtime_env=runtime_env)
    app["route_prefix"] = smoke_route(model_app)
    return app


def serving_config_of(app: dict) -> ServingConfig | None:
    """The ``ServingConfig`` an application was built with (its ``args.serving``), or
    ``None`` when it has none or it does not validate."""
    values = (app.get("args") or {}).get("serving")
    if not isinstance(values, dict):
        return None
    try:
        return ServingConfig.model_validate(values)
    except ValidationError:
        return None


def is_smoke_app(app: dict) -> bool:
    """Whether ``app`` is a temporary smoke-route application a rollout left behind."""
    return str(app.get("name", "")).startswith(SMOKE_APP_PREFIX) and str(
        app.get("route_prefix") or ""
    ).startswith(f"{SMOKE_ROUTE_PREFIX}/")


# -- whole documents -------------------------------------------------------------------------


def applications_of(document: dict) -> dict[str, dict]:
    """The applications of a ``ServeDeploySchema`` document, by name, in document order."""
    return {
        app["name"]: app
        for app in document.get("applications") or []
        if isinstance(app, dict) and app.get("name")
    }


def with_applications(
    document: dict, changed: list[dict], *, drop: frozenset[str] | set[str] = frozenset()
) -> dict:
    """A copy of ``document`` where each app in ``changed`` replaces the one of its name (in
    place) or is appended, apps named in ``drop`` are gone, and every other key is kept."""
    replacing = {app["name"]: app for app in changed}
    applications = []
    for app in document.get("applications") or []:
        name = app.get("name") if isinstance(app, dict) else None
        if name in drop:
            continue
        applications.append(replacing.pop(name, app))
    applications.extend(replacing.values())
    return {**document, "applications": applications}
