#!/usr/bin/env bash
# Bring up the whole Libra-Guard stack on a local kind cluster (`make kind-up`).
#
#   1. the kind cluster (infra/kind/cluster.yaml), unless it exists;
#   2. the KubeRay operator from its official Helm repository, pinned;
#   3. KFP standalone from its official kustomize manifests, pinned (cluster-scoped resources,
#      then env/platform-agnostic); its steps' artifacts go to the platform's MinIO;
#   4. charts/libra-platform (MLflow + PostgreSQL + MinIO, the pipeline's ServiceAccount,
#      ConfigMap and Secret) and charts/libra-guard (the RayService), with values-kind.yaml;
#   5. the project image, built (infra/scripts/build-image.sh) and loaded into the nodes.
# Third-party software is installed from its publishers, never copied into this repository.
# Rerunning is safe: every step is an install-or-upgrade.
#
# Budget: a laptop giving Docker 4 CPUs / 8 GiB. What keeps it there: the charts'
# values-kind.yaml (requests of 0.1-0.5 CPU, 256 Mi-1 Gi each), the KubeRay operator's requests
# below, KFP's v1-only visualization server scaled to zero, and infra/kind/pipeline.yaml's
# small training pods. Requests add up to about 3 CPUs and 6 GiB with one training job running.
#
# Needs: docker, kind (>= 0.29), kubectl, helm (v3), git (kubectl fetches KFP's manifests).
# Environment: LIBRA_KIND_CLUSTER, LIBRA_NAMESPACE, KUBERAY_VERSION, KFP_BACKEND_VERSION, LIBRA_IMAGE,
# LIBRA_KFP_ARTIFACTS (platform, the default: KFP steps write artifacts to the platform's
# MinIO; kfp: keep KFP's own store), and build-image.sh's variables.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=infra/scripts/kind-lib.sh
source "$repo_root/infra/scripts/kind-lib.sh"

require docker "install Docker: https://docs.docker.com/engine/install/"
require kind "install kind v0.29+: https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
require kubectl "install kubectl: https://kubernetes.io/docs/tasks/tools/"
require helm "install Helm v3: https://helm.sh/docs/intro/install/ (make install puts one in .venv/bin)"
require git "install git (kubectl apply -k fetches KFP's manifests with it)"
docker info >/dev/null 2>&1 || fail "no Docker engine answers; start Docker (infra/scripts/start-docker.sh as root)"
for chart in libra-platform libra-guard; do
  [[ -f $repo_root/charts/$chart/values-kind.yaml ]] ||
    fail "charts/$chart/values-kind.yaml is missing; the kind install needs it"
done

create_cluster() {
  if kind get clusters 2>/dev/null | grep -qx "$KIND_CLUSTER"; then
    say "kind cluster $KIND_CLUSTER exists"
  else
    say "creating kind cluster $KIND_CLUSTER"
    kind create cluster --name "$KIND_CLUSTER" --config "$repo_root/infra/kind/cluster.yaml" --wait 5m
  fi
  kc cluster-info >/dev/null || fail "the cluster's API server does not answer (context $KIND_CONTEXT)"
}

install_kuberay() {
  say "KubeRay operator $KUBERAY_VERSION"
  helm repo add kuberay "$KUBERAY_REPO_URL" --force-update >/dev/null
  # 100m / 256Mi requested: the operator only reconciles a handful of objects here.
  helm --kube-context "$KIND_CONTEXT" upgrade --install kuberay-operator kuberay/kuberay-operator \
    --version "$KUBERAY_VERSION" --namespace "$KUBERAY_NAMESPACE" --create-namespace \
    --set resources.requests.cpu=100m --set resources.requests.memory=256Mi \
    --set resources.limits.cpu=500m --set resources.limits.memory=512Mi \
    --wait --timeout 5m
}

install_kfp() {
  say "KFP backend $KFP_BACKEND_VERSION (standalone, platform-agnostic)"
  kc apply -k "$KFP_MANIFESTS/cluster-scoped-resources?ref=$KFP_BACKEND_VERSION" >/dev/null
  # The namespaced manifests use CRDs (Argo workflows, scheduled workflows) the first apply made.
  kc wait --for condition=established --timeout=120s crd --all >/dev/null
  kc apply -k "$KFP_MANIFESTS/env/platform-agnostic?ref=$KFP_BACKEND_VERSION" >/dev/null
  # The visualization server only serves KFP v1 visualizations; v2 pipelines never call it.
  if kc -n kubeflow get deployment ml-pipeline-visualizationserver >/dev/null 2>&1; then
    kc -n kubeflow scale deployment ml-pipeline-visualizationserver --replicas=0 >/dev/null
  fi
}

# KFP's manifests hard-wire their API server, UI and Argo to their own object store
# (Service minio-service), so those keep it. The one place they let an operator choose is the
# launcher's ConfigMap: the default pipeline root and the S3 provider of every step's artifacts.
# That points at the platform's MinIO, bucket `mlpipeline` (libra-platform's bucket job makes
# it), with the pipeline's credentials Secret. The KFP UI cannot preview those artifacts; MLflow
# and `mc` can.
point_kfp_at_platform_minio() {
  [[ ${LIBRA_KFP_ARTIFACTS:-platform} == platform ]] || {
    say "KFP keeps its own object store (LIBRA_KFP_ARTIFACTS=${LIBRA_KFP_ARTIFACTS})"
    return
  }
  [[ $LIBRA_NAMESPACE == kubeflow ]] ||
    fail "the KFP launcher reads its credentials Secret in namespace kubeflow; with LIBRA_NAMESPACE=$LIBRA_NAMESPACE set LIBRA_KFP_ARTIFACTS=kfp"
  local minio_host=libra-platform-minio.$LIBRA_NAMESPACE.svc:9000
  kc -n kubeflow apply -f - >/dev/null <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: kfp-launcher
  labels: {app.kubernetes.io/managed-by: libra-kind}
data:
  defaultPipelineRoot: s3://mlpipeline/v2/artifacts
  providers: |
    s3:
      default:
        endpoint: $minio_host
        disableSSL: true
        region: us-east-1
        forcePathStyle: true
        credentials:
          fromEnv: false
          secretRef:
            secretName: libra-guard-credentials
            accessKeyKey: s3_access_key
            secretKeyKey: s3_secret_key
EOF
  say "KFP step artifacts go to s3://mlpipeline on $minio_host"
}

# The `restricted` Pod Security Standard: every pod of the charts and of the training RayJobs
# passes it (tests/charts/test_charts.py, tests/kube/test_rayjob_manifest.py). In the kubeflow
# namespace, which KFP's own pods share (their manifests are not ours to harden, and are not
# checked against `restricted`), it is enforced as `baseline` and warned and audited as
# `restricted`; in a namespace of its own it is enforced.
label_pod_security() {
  local enforce=restricted
  [[ $LIBRA_NAMESPACE == kubeflow ]] && enforce=baseline
  kc label namespace "$LIBRA_NAMESPACE" --overwrite \
    pod-security.kubernetes.io/enforce=$enforce \
    pod-security.kubernetes.io/warn=restricted \
    pod-security.kubernetes.io/audit=restricted >/dev/null
  say "namespace $LIBRA_NAMESPACE: Pod Security Standard $enforce enforced, restricted warned"
}

install_charts() {
  say "charts/libra-platform and charts/libra-guard in namespace $LIBRA_NAMESPACE"
  kc create namespace "$LIBRA_NAMESPACE" --dry-run=client -o yaml | kc apply -f - >/dev/null
  label_pod_security
  helm --kube-context "$KIND_CONTEXT" upgrade --install libra-platform \
    "$repo_root/charts/libra-platform" --namespace "$LIBRA_NAMESPACE" \
    -f "$repo_root/charts/libra-platform/values-kind.yaml" --wait --timeout 10m
  # No --wait: the RayService serves once the first pipeline run has registered a version;
  # kind-demo.sh waits for it after that run.
  helm --kube-context "$KIND_CONTEXT" upgrade --install libra-guard \
    "$repo_root/charts/libra-guard" --namespace "$LIBRA_NAMESPACE" \
    -f "$repo_root/charts/libra-guard/values-kind.yaml" \
    --set image.repository="${LIBRA_IMAGE%:*}" --set image.tag="${LIBRA_IMAGE##*:}"
}

load_image() {
  "$repo_root/infra/scripts/build-image.sh" "$LIBRA_IMAGE"
  say "loading $LIBRA_IMAGE into kind (a few minutes for a multi-GB image)"
  kind load docker-image "$LIBRA_IMAGE" --name "$KIND_CLUSTER"
}

wait_for_rollouts() {
  say "waiting for the deployments to roll out"
  for namespace in "$KUBERAY_NAMESPACE" kubeflow "$LIBRA_NAMESPACE"; do
    kc -n "$namespace" get deployments -o name | while read -r deployment; do
      kc -n "$namespace" rollout status "$deployment" --timeout=10m >/dev/null ||
        fail "$namespace/$deployment did not roll out; kubectl -n $namespace describe $deployment"
    done
  done
}

started=$SECONDS
create_cluster
# The image build runs while nothing else needs the CPUs the cluster will.
load_image
install_kuberay
install_kfp
install_charts
point_kfp_at_platform_minio
wait_for_rollouts
expose_node_port kubeflow ml-pipeline-ui 80 "$KFP_NODE_PORT"
expose_node_port "$LIBRA_NAMESPACE" libra-platform-mlflow 5000 "$MLFLOW_NODE_PORT"
say "stack is up in $((SECONDS - started))s; next: make kind-demo"
