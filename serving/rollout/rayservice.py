"""``RayServiceRollout``: the rollout on Kubernetes, by editing a KubeRay RayService's
``spec.serveConfigV2``.

The RayService carries the guard's whole Serve config as a YAML string: the document
``serve_config`` builds, the same one ``LocalServeRollout`` PUTs to a local Serve instance
(the API application plus one model application per served version). KubeRay applies a change
that touches only ``serveConfigV2`` in place on the running RayCluster: a new model
application starts beside the serving one, and a change of only a deployment's
``user_config`` (the API's ``model_app``, a version's aliases) reconfigures the running
replicas without a restart. A change of ``rayClusterConfig`` would start a pending cluster (a
zero-downtime upgrade) instead; this module never touches it, but reads the pending status as
well, so a rollout during such an upgrade waits for it rather than misreading it.

How each step is done here:

- health: after every write, the status must have seen it (``status.observedGeneration``)
  and report each new application ``RUNNING`` in ``status.activeServiceStatus.
  applicationStatuses`` (the cluster whose proxies get the traffic). ``observedGeneration``
  alone proves nothing: KubeRay 1.7 reads the Serve status before it updates the applications
  and sets the generation in the same pass, with the old statuses (``rayservice_controller.go``,
  ``reconcileServe``/``calculateStatus``). So an application that already ran before the
  write (the API application on a traffic switch, a relabelled version) is confirmed from
  what the guard serves: ``switch`` waits until ``/v1/model`` names the version it switched
  to (a switch back after a failure too), ``relabel`` until it reports the new aliases.
  ``DEPLOY_FAILED`` or ``UNHEALTHY`` in the active or pending status fails at once with the
  application's own message (the last exception line of its deployments); so does a deadline.
- smoke: a model application has no route, and this process reaches the cluster's Serve only
  over HTTP (``guard_url``). So ``deploy`` also starts a temporary API application on
  ``/rollout-smoke/<app>`` that sends its work to the new version
  (``serve_config.smoke_api_app_config``): the smoke set goes through the same ingress code,
  validation and auth that traffic will take, while ``/`` still reaches the serving version.
  Every answer must name the new version. ``switch`` removes the temporary application.
- concurrent edits: every write is a JSON patch whose first operation tests that
  ``serveConfigV2`` is still the text this rollout read; if anyone changed it in between, the
  write fails, nothing is overwritten, and the error says so.
- restore: ``deploy`` keeps the exact text it found. When ``roll_out`` removes the new version
  after a failure, that text is written back byte for byte, unless someone else edited the
  config meanwhile: then their change is kept and the failure says the config was not
  restored.

Usage (inside the cluster, with the pipeline's service account)::

    rollout = RayServiceRollout.from_settings(Settings(), ServingConfig())
    result = roll_out(rollout, target, smoke_items, on_serving=promote)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import yaml

from libra_guard.kube.client import (
    api_client,
    api_error_message,
    json_patch_custom_object,
    namespace,
)
from libra_guard.settings import Settings
from serving.config import ServingConfig
from serving.rollout.base import ModelTarget, Rollout, RolloutError, ServedVersion
from serving.rollout.guard_http import GuardHttp
from serving.rollout.rayservice_status import FAILED_STATES, RUNNING, app_state, describe
from serving.rollout.serve_config import (
    API_APP,
    api_app_config,
    applications_of,
    is_smoke_app,
    model_app_config,
    model_app_of,
    model_of,
    serving_config_of,
    smoke_api_app_config,
    smoke_app_name,
    smoke_route,
    with_applications,
    with_model,
    with_model_app,
)

logger = logging.getLogger(__name__)

GROUP, VERSION, PLURAL = "ray.io", "v1", "rayservices"
SERVE_CONFIG_POINTER = "/spec/serveConfigV2"


@dataclass(frozen=True)
class Timings:
    """How often and how long the rollout waits, in seconds."""

    poll_s: float = 2.0
    #: Starting a model application includes downloading and loading its weights.
    deploy_timeout_s: float = 1200.0
    confirm_timeout_s: float = 120.0
    #: Consecutive answers naming the new version before it counts as serving.
    confirmations: int = 3
    request_timeout_s: float = 120.0


DEFAULT_TIMINGS = Timings()


@dataclass(frozen=True)
class _Snapshot:
    """The RayService as read once: ``serveConfigV2`` verbatim and parsed, and the status."""

    text: str
    document: dict
    generation: int
    status: dict


def default_guard_url(rayservice: str, kube_namespace: str) -> str:
    """The Serve service KubeRay creates for a RayService (``<name>-serve-svc``, port 8000)."""
    return f"http://{rayservice}-serve-svc.{kube_namespace}.svc:8000"


class RayServiceRollout(Rollout):
    """Rollout steps on the RayService ``name`` in ``namespace``; see the module docstring."""

    def __init__(
        self,
        config: ServingConfig,
        *,
        api,
        namespace: str,
        name: str,
        guard_url: str,
        api_app: str = API_APP,
        timings: Timings | None = None,
    ) -> None:
        """``api``: a ``kubernetes.client.ApiClient``; ``guard_url``: where the RayService's
        Serve answers HTTP; ``config``: the serving config of new applications when no model
        application serves yet (otherwise the serving one's is carried over, so what the
        chart set, such as GPUs per replica, stays)."""
        from kubernetes import client

        self.config = config
        self.namespace = namespace
        self.name = name
        self.guard_url = guard_url.rstrip("/")
        self.api_app = api_app
        self.timings = timings or DEFAULT_TIMINGS
        self._guard = GuardHttp(
            self.guard_url,
            poll_s=self.timings.poll_s,
            request_timeout_s=self.timings.request_timeout_s,
        )
        self._api = api
        self._objects = client.CustomObjectsApi(api)
        self._before: tuple[str, str] | None = None  # (app deployed, serveConfigV2 before it)
        self._written: list[str] = []  # serveConfigV2 texts this rollout wrote since
        self._smoke_configs: dict[str, ServingConfig] = {}

    @classmethod
    def from_settings(
        cls, settings: Settings, config: ServingConfig, *, timings: Timings | None = None
    ) -> RayServiceRollout:
        """The RayService ``rayservice_name`` in ``kube_namespace``; the guard's URL is
        ``guard_url``, else KubeRay's Serve service of that RayService.

        Raises:
            ConfigError: no Kubernetes credentials (neither in a pod nor a kubeconfig).
        """
        kube_namespace = namespace(settings)
        return cls(
            config,
            api=api_client(settings),
            namespace=kube_namespace,
            name=settings.rayservice_name,
            guard_url=settings.guard_url
            or default_guard_url(settings.rayservice_name, kube_namespace),
            timings=timings,
        )

    @property
    def resource(self) -> str:
        return f"RayService {self.namespace}/{self.name}"

    # -- the Rollout steps --------------------------------------------------------------

    def serving(self) -> ServedVersion | None:
        apps = applications_of(self._read().document)
        model_app = self._routed_app(apps)
        if model_app is None:
            return None
        model = model_of(apps.get(model_app, {}))
        return ServedVersion(model_app, model.version if model else None)

    def deploy(self, target: ModelTarget) -> None:
        current = self._read()
        apps = applications_of(current.document)
        serving = apps.get(self._routed_app(apps) or "", {})
        config = serving_config_of(serving) or self.config
        api_env = apps.get(self.api_app, {}).get("runtime_env")
        self._before, self._written = (target.app_name, current.text), []
        self._smoke_configs[target.app_name] = config
        added = [
            model_app_config(
                target.app_name,
                target.source,
                target.model,
                config,
                runtime_env=serving.get("runtime_env"),
            ),
            smoke_api_app_config(target.app_name, config, runtime_env=api_env),
        ]
        generation = self._write(
            current, with_applications(current.document, added), f"add {target.app_name}"
        )
        self._wait_running([target.app_name, smoke_app_name(target.app_name)], generation)

    def score(self, target: ModelTarget, pairs: Sequence[tuple[str, str]]) -> list[float]:
        config = self._smoke_configs.get(target.app_name, self.config)
        path = f"{smoke_route(target.app_name)}/v1/moderate"
        scores: list[float] = []
        for start in range(0, len(pairs), config.max_items):
            chunk = pairs[start : start + config.max_items]
            body = {"items": [{"question": q, "response": r} for q, r in chunk]}
            answer = self._guard.request("POST", path, body, retry_s=self.timings.confirm_timeout_s)
            for result in answer.get("results", []):
                version = (result.get("model") or {}).get("version")
                if version != target.version:
                    raise RolloutError(
                        f"{self.guard_url}{path} answered with version {version}, not "
                        f"{target.version}: the smoke route does not reach the new version"
                    )
                scores.append(float(result["score"]))
        return scores

    def switch(self, app_name: str) -> None:
        current = self._read()
        apps = applications_of(current.document)
        api = apps.get(self.api_app)
        if api is None:
            model = apps.get(app_name, {})
            api = api_app_config(
                app_name,
                serving_config_of(model) or self.config,
                name=self.api_app,
                runtime_env=model.get("runtime_env"),
            )
        else:
            api = with_model_app(api, app_name)
        smoke = {name for name, app in apps.items() if is_smoke_app(app)}
        document = with_applications(current.document, [api], drop=smoke)
        generation = self._write(current, document, f"switch traffic to {app_name}")
        self._wait_running([self.api_app], generation)
        # The API application was RUNNING before this write: only the served version shows
        # that the new routing is applied.
        routed = model_of(apps.get(app_name, {}))
        version = routed.version if routed else None
        if version is not None:
            self._wait_described(
                lambda model: model.get("version") == version, f"version {version}"
            )

    def confirm_serving(self, target: ModelTarget) -> None:
        self._wait_described(
            lambda model: model.get("version") == target.version, f"version {target.version}"
        )

    def relabel(self, target: ModelTarget) -> None:
        current = self._read()
        apps = applications_of(current.document)
        if target.app_name not in apps:
            raise RolloutError(f"{target.app_name} is not in serveConfigV2 of {self.resource}")
        document = with_applications(
            current.document, [with_model(apps[target.app_name], target.model)]
        )
        generation = self._write(current, document, f"relabel {target.app_name}")
        self._wait_running([target.app_name], generation)
        if self._routed_app(apps) == target.app_name:
            self._wait_described(
                lambda model: (
                    model.get("version") == target.version
                    and model.get("aliases") == list(target.aliases)
                ),
                f"version {target.version} with aliases {list(target.aliases)}",
            )

    def retire(self, app_name: str) -> None:
        current = self._read()
        if self._before is not None and self._before[0] == app_name:
            generation = self._restore(current, *self._before)
        else:
            apps = applications_of(current.document)
            if self._routed_app(apps) == app_name:
                raise RolloutError(
                    f"{app_name} still gets the traffic of {self.api_app}; switch it first"
                )
            gone = {app_name, smoke_app_name(app_name)} & set(apps)
            if not gone:
                return
            document = with_applications(current.document, [], drop=gone)
            generation = self._write(current, document, f"retire {app_name}")
        self._wait_gone(app_name, generation)

    # -- restore ------------------------------------------------------------------------

    def _restore(self, current: _Snapshot, app_name: str, before: str) -> int:
        """Write back ``serveConfigV2`` exactly as ``deploy`` found it (``before``)."""
        if current.text == before:
            return current.generation
        if current.text not in self._written:
            raise RolloutError(
                f"serveConfigV2 of {self.resource} was changed by someone else after this "
                f"rollout added {app_name}; it was NOT restored, so that change is kept: "
                f"remove {app_name} and {smoke_app_name(app_name)} from it by hand"
            )
        generation = self._write(current, before, f"restore serveConfigV2 without {app_name}")
        self._before = None
        return generation

    # -- the Kubernetes API -------------------------------------------------------------

    def _read(self) -> _Snapshot:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            obj = self._objects.get_namespaced_custom_object(
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                self.name,
                _request_timeout=self.timings.request_timeout_s,
            )
        except ApiException as exc:
            raise self._api_error(exc, "get", "read") from exc
        except HTTPError as exc:
            raise RolloutError(
                f"cannot reach the Kubernetes API to read {self.resource}: {exc}"
            ) from exc
        text = (obj.get("spec") or {}).get("serveConfigV2")
        if not isinstance(text, str) or not text.strip():
            raise RolloutError(
                f"{self.resource} has no spec.serveConfigV2; install it with the libra-guard "
                "chart, which writes the API application and a model application"
            )
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise RolloutError(
                f"spec.serveConfigV2 of {self.resource} is not valid YAML: {exc}"
            ) from exc
        if not isinstance(document, dict) or not isinstance(document.get("applications"), list):
            raise RolloutError(
                f"spec.serveConfigV2 of {self.resource} is not a Serve config (a mapping with "
                "an applications list)"
            )
        metadata = obj.get("metadata") or {}
        return _Snapshot(
            text, document, int(metadata.get("generation") or 0), obj.get("status") or {}
        )

    def _write(self, current: _Snapshot, change: dict | str, what: str) -> int:
        """Replace ``serveConfigV2`` if it is still ``current.text``; the new generation."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        text = change if isinstance(change, str) else _dump(change)
        if text == current.text:
            return current.generation
        operations = [
            {"op": "test", "path": SERVE_CONFIG_POINTER, "value": current.text},
            {"op": "replace", "path": SERVE_CONFIG_POINTER, "value": text},
        ]
        try:
            obj = json_patch_custom_object(
                self._api, GROUP, VERSION, self.namespace, PLURAL, self.name, operations
            )
        except ApiException as exc:
            if exc.status == 422 and self._read().text != current.text:
                raise self._changed_meanwhile(what) from exc
            raise self._api_error(exc, "patch", what) from exc
        except HTTPError as exc:
            raise RolloutError(f"cannot reach the Kubernetes API to {what}: {exc}") from exc
        self._written.append(text)
        logger.info("%s: %s", self.resource, what)
        return int((obj.get("metadata") or {}).get("generation") or 0)

    def _api_error(self, exc, verb: str, what: str) -> RolloutError:
        message = api_error_message(exc)
        if exc.status == 404:
            return RolloutError(
                f"{self.resource} not found ({message}); install the libra-guard chart in "
                f"namespace {self.namespace}, or set LIBRA_RAYSERVICE_NAME and "
                "LIBRA_KUBE_NAMESPACE to the RayService that serves the guard"
            )
        if exc.status in (401, 403):
            return RolloutError(
                f"not allowed to {verb} {self.resource} ({message}); the pipeline's "
                f"ServiceAccount needs a Role granting get and patch on rayservices.ray.io in "
                f"namespace {self.namespace}"
            )
        if exc.status == 409:
            return self._changed_meanwhile(what, message)
        return RolloutError(f"the Kubernetes API refused to {what} on {self.resource}: {message}")

    def _changed_meanwhile(self, what: str, detail: str = "") -> RolloutError:
        return RolloutError(
            f"spec.serveConfigV2 of {self.resource} was changed by someone else while this "
            f"rollout tried to {what}{f' ({detail})' if detail else ''}; nothing was "
            "overwritten: look at that change, then run the rollout again"
        )

    # -- waiting on the status ----------------------------------------------------------

    def _wait_running(self, app_names: list[str], generation: int) -> None:
        """Return once every app is RUNNING on the active cluster, as of ``generation``."""

        def check(current: _Snapshot) -> str | None:
            states = {name: app_state(current.status, name) for name in app_names}
            for name, state in states.items():
                if state.status in FAILED_STATES:
                    raise RolloutError(
                        f"{name} is {state.status} in {self.resource} ({state.where} "
                        f"cluster): {state.reason}"
                    )
            if all(s.status == RUNNING and s.where == "active" for s in states.values()):
                return None
            return "; ".join(f"{name} {describe(state)}" for name, state in states.items())

        self._wait_status(check, generation, f"{', '.join(app_names)} not running")

    def _wait_gone(self, app_name: str, generation: int) -> None:
        def check(current: _Snapshot) -> str | None:
            state = app_state(current.status, app_name)
            return None if state.status is None else f"{app_name} {describe(state)}"

        self._wait_status(check, generation, f"{app_name} still listed")

    def _wait_status(
        self, check: Callable[[_Snapshot], str | None], generation: int, failure: str
    ) -> None:
        """Poll until ``check`` (on a status that has seen ``generation``) returns ``None``;
        it returns what is still missing, or raises."""
        deadline = time.monotonic() + self.timings.deploy_timeout_s
        last, logged = "no status yet", ""
        while True:
            current = self._read()
            observed = current.status.get("observedGeneration")
            if observed is not None and int(observed) < generation:
                last = f"the operator has not seen the change yet (generation {observed})"
            else:
                missing = check(current)
                if missing is None:
                    return
                last = missing
            if last != logged:
                logger.info("%s: waiting: %s", self.resource, last)
                logged = last
            if time.monotonic() >= deadline:
                raise RolloutError(
                    f"{failure} in {self.resource} after {self.timings.deploy_timeout_s:.0f}s "
                    f"({last}; service status: {current.status.get('serviceStatus') or 'none'})"
                )
            time.sleep(self.timings.poll_s)

    def _wait_described(self, wanted: Callable[[dict], bool], what: str) -> None:
        self._guard.wait_for_model(
            wanted,
            what,
            timeout_s=self.timings.confirm_timeout_s,
            confirmations=self.timings.confirmations,
        )

    def _routed_app(self, apps: dict[str, dict]) -> str | None:
        api = apps.get(self.api_app)
        return model_app_of(api) if api else None


class _PlainDumper(yaml.SafeDumper):
    """YAML without anchors: the same ``serving`` dict under two applications is written out
    twice, so the text reads like the chart's and every application stands on its own."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def _dump(document: dict) -> str:
    return yaml.dump(document, Dumper=_PlainDumper, sort_keys=False, allow_unicode=True)
