#!/usr/bin/env bash
# Shared settings and helpers of kind-up.sh and kind-demo.sh (sourced, never run).
#
# Every pinned third-party version of the kind stack lives here, in one place.
# shellcheck disable=SC2034  # the variables are read by the scripts that source this file

# kind cluster name (infra/kind/cluster.yaml names it too) and its kubectl context.
KIND_CLUSTER=${LIBRA_KIND_CLUSTER:-libra}
KIND_CONTEXT=kind-$KIND_CLUSTER
# KFP standalone runs every step's pod in its own namespace, and a pod can only use the
# ServiceAccount, Secret and ConfigMap of its namespace; so the platform and the guard are
# installed beside KFP, in one namespace.
LIBRA_NAMESPACE=${LIBRA_NAMESPACE:-kubeflow}
# The KubeRay operator: the official chart, the release whose CRDs ../shared/schemas describe.
KUBERAY_REPO_URL=https://ray-project.github.io/kuberay-helm/
KUBERAY_VERSION=${KUBERAY_VERSION:-1.7.0}
KUBERAY_NAMESPACE=kuberay-system
# KFP standalone, the release matching the kfp SDK (2.17) the project compiles with.
# KFP's backend (the manifests' git tag) and its SDK are versioned apart: backend tags do not
# follow SDK patch releases (SDK 2.17.x, backend tag 2.17.0). kind-up applies the backend tag;
# the SDK is pinned in pyproject.toml.
KFP_BACKEND_VERSION=${KFP_BACKEND_VERSION:-2.17.0}
KFP_MANIFESTS=github.com/kubeflow/pipelines/manifests/kustomize
# The image the pipeline and the guard chart name (components.PROJECT_IMAGE, image.* values).
LIBRA_IMAGE=${LIBRA_IMAGE:-ghcr.io/libra-guard/libra-guard:0.1.0}
# Host ports infra/kind/cluster.yaml maps to NodePorts (same numbers).
KFP_NODE_PORT=30080
MLFLOW_NODE_PORT=30500
GUARD_NODE_PORT=30800
RAY_DASHBOARD_NODE_PORT=30265

say() { printf '%s: %s\n' "${0##*/}" "$*"; }
fail() {
  printf '%s: ERROR: %s\n' "${0##*/}" "$*" >&2
  exit 1
}

# require TOOL HINT: fail naming the tool and where to get it.
require() {
  command -v "$1" >/dev/null 2>&1 || fail "$1 is not installed; $2"
}

kc() { kubectl --context "$KIND_CONTEXT" "$@"; }

# expose_node_port NAMESPACE SERVICE PORT NODE_PORT: a NodePort Service named
# SERVICE-kind beside SERVICE, with its selector, so the host reaches PORT on NODE_PORT.
# A Service of our own, because the charts and KubeRay own theirs and would revert a patch.
expose_node_port() {
  local namespace=$1 service=$2 port=$3 node_port=$4 selector target
  selector=$(kc -n "$namespace" get service "$service" -o jsonpath='{.spec.selector}') ||
    fail "service $namespace/$service is missing"
  [[ -n $selector ]] || fail "service $namespace/$service has no selector to copy"
  target=$(kc -n "$namespace" get service "$service" \
    -o jsonpath="{.spec.ports[?(@.port==$port)].targetPort}")
  [[ -n $target ]] || fail "service $namespace/$service has no port $port"
  [[ $target =~ ^[0-9]+$ ]] || target="\"$target\""
  kc -n "$namespace" apply -f - >/dev/null <<EOF
{"apiVersion": "v1", "kind": "Service",
 "metadata": {"name": "$service-kind", "labels": {"app.kubernetes.io/managed-by": "libra-kind"}},
 "spec": {"type": "NodePort", "selector": $selector,
          "ports": [{"port": $port, "targetPort": $target, "nodePort": $node_port}]}}
EOF
  say "$namespace/$service:$port is on http://127.0.0.1:$node_port"
}
