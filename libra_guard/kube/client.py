"""The Kubernetes API client and namespace, from the pod's service account or a kubeconfig.

Inside a cluster (a KFP step) the pod's service account is used, so what the pipeline may
do is exactly what its Role grants; outside, ``KUBECONFIG`` or ``~/.kube/config``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from libra_guard.errors import ConfigError
from libra_guard.settings import Settings

SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def api_client(settings: Settings | None = None):
    """A ``kubernetes.client.ApiClient`` for the cluster this process runs in or points at.

    Raises:
        ConfigError: neither in-cluster credentials nor a kubeconfig are usable.
    """
    from kubernetes import client, config

    del settings  # the connection comes from the pod or kubeconfig, not from LIBRA_* values
    try:
        if os.environ.get("KUBERNETES_SERVICE_HOST"):
            config.load_incluster_config()
        else:
            # Read KUBECONFIG now: the client's default path was fixed when it was imported.
            config.load_kube_config(config_file=os.environ.get("KUBECONFIG"))
    except Exception as exc:  # ConfigException, FileNotFoundError, yaml errors
        raise ConfigError(
            "no Kubernetes cluster to talk to: run inside a cluster or set KUBECONFIG "
            f"(training_backend=rayjob / serving_backend=rayservice need one): {exc}"
        ) from exc
    return client.ApiClient()


def namespace(settings: Settings) -> str:
    """``LIBRA_KUBE_NAMESPACE``, else the pod's own namespace, else the kubeconfig
    context's, else ``default``."""
    if settings.kube_namespace:
        return settings.kube_namespace
    if SERVICE_ACCOUNT_NAMESPACE.is_file():
        return SERVICE_ACCOUNT_NAMESPACE.read_text(encoding="utf-8").strip()
    try:
        from kubernetes import config

        _, active = config.list_kube_config_contexts(config_file=os.environ.get("KUBECONFIG"))
        return (active or {}).get("context", {}).get("namespace") or "default"
    except Exception:  # no kubeconfig: the namespace is the only question left
        return "default"


def api_error_message(exc: BaseException) -> str:
    """The API server's own message from an ``ApiException`` (its ``Status`` body), else
    the exception text, in one line."""
    body = getattr(exc, "body", None)
    status = getattr(exc, "status", None)
    if body:
        try:
            payload = json.loads(body)
            if isinstance(payload, dict) and payload.get("message"):
                return f"{status} {payload.get('reason', '')}: {payload['message']}".strip()
        except (TypeError, ValueError):
            pass
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:500]


def json_patch_custom_object(
    api, group: str, version: str, namespace: str, plural: str, name: str, operations: list
) -> dict:
    """Apply an RFC 6902 JSON patch to a namespaced custom object; returns the object.

    ``CustomObjectsApi.patch_namespaced_custom_object`` always sends a merge patch, which
    cannot carry a ``test`` operation. A JSON patch can, which makes a write conditional on
    what the writer read (``{"op": "test", "path": ..., "value": ...}``): when someone else
    changed that field meanwhile the API server answers 422 and writes nothing.

    Raises:
        kubernetes.client.exceptions.ApiException: the API server's answer (403, 404, 409,
            422 ...); ``api_error_message`` gives its text.
    """
    return api.call_api(
        "/apis/{group}/{version}/namespaces/{namespace}/{plural}/{name}",
        "PATCH",
        path_params={
            "group": group,
            "version": version,
            "namespace": namespace,
            "plural": plural,
            "name": name,
        },
        query_params=[],
        header_params={
            "Accept": "application/json",
            "Content-Type": "application/json-patch+json",
        },
        body=list(operations),
        response_type="object",
        auth_settings=["BearerToken"],
        _return_http_data_only=True,
    )
