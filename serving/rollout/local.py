"""``LocalServeRollout``: the rollout on a Ray Serve instance this process can reach.

Every change is a whole Serve config (``serve_config``) PUT to the Ray dashboard's Serve REST
API, the same declarative path ``serve deploy`` and KubeRay take. That API has no version to
write against, so each write first reads the config again and refuses (``RolloutError``) when
it is no longer what the change was made from: another writer (``serve deploy``, a second
rollout outside the promotion lock) is never overwritten. The window left between that read
and the PUT is milliseconds, against the seconds to minutes a rollout step takes.

Declarative configs matter here: when only a deployment's ``user_config`` changes, Serve
reconfigures the running replicas in place, so switching traffic (the API's ``model_app``) and
relabelling a version (its aliases) restart nothing and drop nothing.

The smoke set goes to the new version through a Serve handle, before any traffic does.

Usage::

    ensure_ray()
    rollout = LocalServeRollout(ServingConfig(), port=8000)
    rollout.start_serve()
    result = roll_out(rollout, target, smoke_items)
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from libra_guard.settings import Settings
from serving.app import MODEL_DEPLOYMENT
from serving.config import ServingConfig
from serving.rollout.base import ModelTarget, Rollout, RolloutError, ServedVersion
from serving.rollout.guard_http import GuardHttp
from serving.rollout.serve_config import (
    API_APP,
    MODEL_IMPORT_PATH,
    api_app_config,
    model_app_config,
    model_app_of,
    model_of,
    serve_document,
    with_model,
    with_model_app,
)

#: The folder holding the ``serving`` package; replicas get it on PYTHONPATH so the config's
#: import paths resolve even where the package is not installed (a source checkout).
PROJECT_ROOT = Path(__file__).resolve().parents[2]
POLL_S = 0.5
#: Consecutive answers naming the new version before it counts as serving.
CONFIRMATIONS = 3
_EXCEPTION_LINE = re.compile(r"^\s*[\w.]+(Error|Exception): ")


def replica_env(settings: Settings) -> dict[str, str]:
    """Environment for model replicas: where they resolve registry URIs and cache models.

    On a Ray head of this machine (``LIBRA_RAY_ADDRESS`` unset) the replicas share this
    process's registry and state dir, even when those came from a config file. On a joined
    cluster they keep their own node's environment (its ``MLFLOW_TRACKING_URI`` and
    ``LIBRA_STATE_DIR``): this machine's paths mean nothing there.
    """
    if settings.ray_address:
        return {}
    return {
        "MLFLOW_TRACKING_URI": settings.tracking_uri,
        "LIBRA_STATE_DIR": str(settings.state_dir.resolve()),
    }


class LocalServeRollout(Rollout):
    """Rollout steps on the Serve instance of the Ray cluster this process is connected to.

    ``replica_env``: environment variables for the model replicas (``replica_env(settings)``
    by default is the caller's business); each replica resolves its target's source there.
    """

    def __init__(
        self,
        config: ServingConfig,
        *,
        host: str = "127.0.0.1",
        port: int = 8000,
        api_app: str = API_APP,
        dashboard_url: str | None = None,
        deploy_timeout_s: float = 600.0,
        confirm_timeout_s: float = 60.0,
        replica_env: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config
        self.host = host
        self.port = port
        self.api_app = api_app
        self._dashboard_url = dashboard_url
        self._deploy_timeout_s = deploy_timeout_s
        self._confirm_timeout_s = confirm_timeout_s
        self._replica_env = dict(replica_env or {})
        self._client = None

    @property
    def url(self) -> str:
        """Where the API answers."""
        shown = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{shown}:{self.port}"

    def start_serve(self) -> None:
        """Start Serve's controller and HTTP proxy on ``host:port`` (no-op if running)."""
        from ray import serve

        serve.start(http_options={"host": self.host, "port": self.port})

    # -- the Rollout steps --------------------------------------------------------------

    def serving(self) -> ServedVersion | None:
        configs = self._configs()
        api = configs.get(self.api_app)
        model_app = model_app_of(api) if api else None
        if model_app is None:
            return None
        model = model_of(configs.get(model_app, {}))
        return ServedVersion(model_app, model.version if model else None)

    def deploy(self, target: ModelTarget) -> None:
        read = self._configs()
        configs = dict(read)
        configs[target.app_name] = model_app_config(
            target.app_name,
            target.source,
            target.model,
            self.config,
            runtime_env=self._runtime_env(),
        )
        self._apply(configs, read)
        self._wait_running(target.app_name)

    def score(self, target: ModelTarget, pairs: Sequence[tuple[str, str]]) -> list[float]:
        from ray import serve

        handle = serve.get_deployment_handle(MODEL_DEPLOYMENT, app_name=target.app_name)
        reply = handle.score.remote(list(pairs)).result(timeout_s=300)
        return [float(score) for score in reply["scores"]]

    def switch(self, app_name: str) -> None:
        read = self._configs()
        configs = dict(read)
        api = configs.get(self.api_app)
        if api is None:
            configs[self.api_app] = api_app_config(
                app_name,
                self.config,
                name=self.api_app,
                runtime_env=self._runtime_env(),
                bind_host=self.host,
            )
        else:
            configs[self.api_app] = with_model_app(api, app_name)
        self._apply(configs, read)
        self._wait_running(self.api_app)

    def confirm_serving(self, target: ModelTarget) -> None:
        GuardHttp(self.url, poll_s=POLL_S / 2, request_timeout_s=10).wait_for_model(
            lambda model: model.get("version") == target.version,
            f"version {target.version}",
            timeout_s=self._confirm_timeout_s,
            confirmations=CONFIRMATIONS,
        )

    def relabel(self, target: ModelTarget) -> None:
        read = self._configs()
        configs = dict(read)
        if target.app_name not in configs:
            raise RolloutError(f"{target.app_name} is not deployed")
        configs[target.app_name] = with_model(configs[target.app_name], target.model)
        self._apply(configs, read)
        self._wait_described(target)

    def _wait_described(self, target: ModelTarget) -> None:
        """Return once the replicas report ``target``'s aliases (user_config applied)."""
        from ray import serve

        handle = serve.get_deployment_handle(MODEL_DEPLOYMENT, app_name=target.app_name)
        deadline = time.monotonic() + self._confirm_timeout_s
        confirmed, aliases = 0, None
        while time.monotonic() < deadline:
            aliases = handle.describe.remote().result(timeout_s=30).get("aliases")
            confirmed = confirmed + 1 if aliases == list(target.aliases) else 0
            if confirmed >= CONFIRMATIONS:
                return
            time.sleep(POLL_S / 2)
        raise RolloutError(
            f"{target.app_name} still reports aliases {aliases}, not {list(target.aliases)}"
        )

    def retire(self, app_name: str) -> None:
        read = self._configs()
        configs = dict(read)
        configs.pop(app_name, None)
        api = configs.get(self.api_app)
        if api is not None and model_app_of(api) == app_name:
            configs.pop(self.api_app)
        self._apply(configs, read)
        self._wait_gone(app_name)

    def stop(self) -> None:
        """Remove the API application and every guard model application."""
        read = self._configs()
        configs = {
            name: app
            for name, app in read.items()
            if name != self.api_app and app.get("import_path") != MODEL_IMPORT_PATH
        }
        self._apply(configs, read)

    # -- the Serve REST API ----------------------------------------------------------------

    def _serve_client(self):
        if self._client is None:
            from ray.dashboard.modules.serve.sdk import ServeSubmissionClient

            self._client = ServeSubmissionClient(self._dashboard_url or dashboard_url())
        return self._client

    def applications(self) -> dict[str, dict]:
        """Serve's view of every application: status, message, deployed config."""
        try:
            details = self._serve_client().get_serve_details()
        except Exception as exc:
            raise RolloutError(f"cannot read Serve's applications: {exc}") from exc
        return dict(details.get("applications") or {})

    def _configs(self) -> dict[str, dict]:
        return {
            name: dict(app["deployed_app_config"])
            for name, app in self.applications().items()
            if app.get("deployed_app_config")
        }

    def _apply(self, configs: dict[str, dict], read: dict[str, dict]) -> None:
        """PUT ``configs``, made from ``read``, unless Serve's config changed since.

        Raises:
            RolloutError: it changed (nothing is written), or Serve refused the config.
        """
        now = self._configs()
        if now != read:
            changed = sorted(name for name in {*now, *read} if now.get(name) != read.get(name))
            raise RolloutError(
                "the Serve config changed while the rollout was working on it (applications "
                f"{', '.join(changed)}); nothing was written over it. Another writer "
                "(serve deploy, libra-guard serve, a rollout) is active: retry once it is done"
            )
        document = serve_document(list(configs.values()), host=self.host, port=self.port)
        try:
            self._serve_client().deploy_applications(document)
        except Exception as exc:
            raise RolloutError(f"Serve refused the config: {exc}") from exc

    def _wait_running(self, app_name: str) -> None:
        deadline = time.monotonic() + self._deploy_timeout_s
        status = "not listed"
        while time.monotonic() < deadline:
            app = self.applications().get(app_name)
            status = app["status"] if app else "not listed"
            if status == "RUNNING":
                return
            if status in ("DEPLOY_FAILED", "UNHEALTHY"):
                raise RolloutError(f"{app_name} is {status}: {_failure_reason(app)}")
            time.sleep(POLL_S)
        raise RolloutError(
            f"{app_name} was not running after {self._deploy_timeout_s:.0f}s ({status})"
        )

    def _wait_gone(self, app_name: str) -> None:
        deadline = time.monotonic() + self._deploy_timeout_s
        while app_name in self.applications():
            if time.monotonic() > deadline:
                raise RolloutError(f"{app_name} was still being deleted after the timeout")
            time.sleep(POLL_S)

    def _runtime_env(self) -> dict:
        path = os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
        return {"env_vars": {**self._replica_env, "PYTHONPATH": path}}


def dashboard_url() -> str:
    """The Ray dashboard of the cluster this process is connected to, as an http URL.

    Raises:
        RolloutError: Ray is not initialised or the cluster runs no dashboard.
    """
    import ray
    from ray._private.worker import get_dashboard_url

    if not ray.is_initialized():
        raise RolloutError("Ray is not initialised; call ensure_ray() first")
    address = get_dashboard_url()
    if not address:
        raise RolloutError(
            "the Ray cluster runs no dashboard, whose Serve REST API the rollout uses; "
            "start Ray with the dashboard (ray start --head --include-dashboard=true)"
        )
    return address if "://" in address else f"http://{address}"


def _failure_reason(app: dict) -> str:
    """Why an application failed: the last exception line of its deployments' tracebacks
    (e.g. ``ModelError: cannot load a causal LM from ...``), else Serve's own message."""
    for deployment in (app.get("deployments") or {}).values():
        lines = str(deployment.get("message") or "").splitlines()
        for line in reversed(lines):
            if _EXCEPTION_LINE.match(line):
                return line.strip()[:600]
    return " ".join(str(app.get("message") or "unknown").split())[:600]
