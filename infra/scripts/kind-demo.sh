#!/usr/bin/env bash
# Run the pipeline on the kind stack and print where to look (`make kind-demo`, after kind-up).
#
#   1. submit the pipeline (infra/kind/pipeline.yaml: demo sizes, small pods) to KFP and wait;
#   2. wait for the guard's RayService to serve the version the run rolled out;
#   3. print the URLs of the KFP UI, MLflow UI, Ray dashboard and guard API.
#
# Each URL is a NodePort that infra/kind/cluster.yaml maps to the host; where one does not
# answer (e.g. a NetworkPolicy admits only in-cluster clients), a `kubectl port-forward` runs in
# the background instead and its process id goes to .libra/kind/port-forward.pids.
#
# Environment: LIBRA_KIND_CLUSTER, LIBRA_NAMESPACE (see kind-lib.sh), LIBRA_PIPELINE_CONFIG
# (default infra/kind/pipeline.yaml), LIBRA_GUARD_CLI (default .venv/bin/libra-guard).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=infra/scripts/kind-lib.sh
source "$repo_root/infra/scripts/kind-lib.sh"

config=${LIBRA_PIPELINE_CONFIG:-$repo_root/infra/kind/pipeline.yaml}
cli=${LIBRA_GUARD_CLI:-$repo_root/.venv/bin/libra-guard}
pid_file=$repo_root/.libra/kind/port-forward.pids

require kubectl "install kubectl: https://kubernetes.io/docs/tasks/tools/"
require curl "install curl"
[[ -x $cli ]] || cli=$(command -v libra-guard) || fail "no libra-guard CLI; run make install"
kc get namespace "$LIBRA_NAMESPACE" >/dev/null 2>&1 ||
  fail "no namespace $LIBRA_NAMESPACE on context $KIND_CONTEXT; run make kind-up first"

# answers URL: whether anything HTTP answers there (any status counts).
answers() { [[ $(curl -s -o /dev/null -m 5 -w '%{http_code}' "$1" || true) != 000 ]]; }

# reach NAMESPACE SERVICE PORT NODE_PORT LOCAL_PORT: print a host URL of the service.
reach() {
  local namespace=$1 service=$2 port=$3 node_port=$4 local_port=$5
  expose_node_port "$namespace" "$service" "$port" "$node_port" >&2
  for _ in 1 2 3 4 5; do
    if answers "http://127.0.0.1:$node_port/"; then
      echo "http://127.0.0.1:$node_port"
      return
    fi
    sleep 2
  done
  mkdir -p "$(dirname "$pid_file")"
  nohup kubectl --context "$KIND_CONTEXT" -n "$namespace" port-forward "service/$service" \
    "$local_port:$port" >/dev/null 2>&1 &
  echo $! >>"$pid_file"
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    answers "http://127.0.0.1:$local_port/" && break
    sleep 1
  done
  echo "http://127.0.0.1:$local_port"
}

kfp_url=$(reach kubeflow ml-pipeline-ui 80 "$KFP_NODE_PORT" 8080)
mlflow_url=$(reach "$LIBRA_NAMESPACE" libra-platform-mlflow 5000 "$MLFLOW_NODE_PORT" 5000)

say "submitting the pipeline to $kfp_url (config $config); this waits for the run"
"$cli" submit --host "$kfp_url" --config "$config" --wait

say "waiting for the guard's RayService to serve"
kc -n "$LIBRA_NAMESPACE" wait rayservice/libra-guard --for=condition=Ready --timeout=15m >/dev/null ||
  fail "RayService libra-guard is not Ready; kubectl -n $LIBRA_NAMESPACE describe rayservice libra-guard"
guard_url=$(reach "$LIBRA_NAMESPACE" libra-guard-serve-svc 8000 "$GUARD_NODE_PORT" 8000)
dashboard_url=$(reach "$LIBRA_NAMESPACE" libra-guard-head-svc 8265 "$RAY_DASHBOARD_NODE_PORT" 8265)
answers "$guard_url/healthz" || fail "the guard API does not answer at $guard_url/healthz"

cat <<EOF

Libra-Guard on kind ($KIND_CONTEXT, namespace $LIBRA_NAMESPACE):
  KFP UI          $kfp_url
  MLflow UI       $mlflow_url
  Ray dashboard   $dashboard_url   (KubeRay's head Service; requires the Ray token:
                  kubectl --context $KIND_CONTEXT -n $LIBRA_NAMESPACE get secret libra-guard-ray-token -o jsonpath='{.data.auth_token}' | base64 -d)
  guard API       $guard_url   (GET /healthz, POST /v1/moderate)

Ask the guard (its API key is in Secret libra-guard-api-key):
  export LIBRA_API_KEY=\$(kubectl --context $KIND_CONTEXT -n $LIBRA_NAMESPACE get secret libra-guard-api-key -o jsonpath='{.data.api-key}' | base64 -d)
  $cli moderate --url $guard_url "你好"
EOF
if [[ -s $pid_file ]]; then
  echo "Port-forwards run in the background; stop them with: kill \$(cat $pid_file) && rm $pid_file"
fi
