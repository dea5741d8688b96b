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
            config.load_kube_config()
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

        _, active = config.list_kube_config_contexts()
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
