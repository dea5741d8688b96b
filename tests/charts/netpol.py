"""Which pod may open a TCP connection to which, under a set of rendered NetworkPolicies.

Kubernetes' semantics (``networking.k8s.io/v1``), for ingress only: a pod selected by no
policy with ``Ingress`` in its ``policyTypes`` admits everything; a selected pod admits a
connection when some rule of some policy selecting it matches both the peer (``podSelector``
in the policy's namespace, ``namespaceSelector``, or both, meaning pods in matching namespaces)
and the port (no ``ports``: every port). Namespaces carry ``kubernetes.io/metadata.name``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Pod:
    name: str
    namespace: str
    labels: dict = field(default_factory=dict, hash=False, compare=False)


def matches(selector: dict | None, labels: dict) -> bool:
    """A LabelSelector against labels; ``{}`` selects everything."""
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values") or []
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def _peer_matches(peer: dict, policy_namespace: str, source: Pod) -> bool:
    namespace_labels = {"kubernetes.io/metadata.name": source.namespace}
    if "namespaceSelector" in peer:
        if not matches(peer["namespaceSelector"], namespace_labels):
            return False
    elif source.namespace != policy_namespace:
        return False
    return "podSelector" not in peer or matches(peer["podSelector"], source.labels)


def _port_matches(rule: dict, port: int) -> bool:
    ports = rule.get("ports")
    return not ports or any(entry.get("port") == port for entry in ports)


def admits(policies: list[dict], source: Pod, target: Pod, port: int) -> bool:
    """Whether ``source`` may connect to ``target`` on ``port``."""
    selecting = [
        policy
        for policy in policies
        if policy["metadata"].get("namespace", target.namespace) == target.namespace
        and "Ingress" in (policy["spec"].get("policyTypes") or ["Ingress"])
        and matches(policy["spec"].get("podSelector"), target.labels)
    ]
    if not selecting:
        return True
    for policy in selecting:
        namespace = policy["metadata"].get("namespace", target.namespace)
        for rule in policy["spec"].get("ingress") or []:
            peers = rule.get("from")
            peer_ok = not peers or any(_peer_matches(p, namespace, source) for p in peers)
            if peer_ok and _port_matches(rule, port):
                return True
    return False
