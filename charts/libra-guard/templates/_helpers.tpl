{{/*
Names, labels, security contexts, the Ray pod template and the Serve config.
*/}}

{{- define "libra-guard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The RayService name and the prefix of every resource name. KubeRay appends suffixes
(-serve-svc, -head-svc, -raycluster-xxxxx) to it, hence the shorter limit. */}}
{{- define "libra-guard.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "libra-guard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels of a component. Call with (list $ "ray-head"). */}}
{{- define "libra-guard.selectorLabels" -}}
{{- $ := index . 0 -}}
app.kubernetes.io/name: {{ include "libra-guard.name" $ }}
app.kubernetes.io/instance: {{ $.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/* The full standard label set of a component. Call with (list $ "ray-head"). */}}
{{- define "libra-guard.labels" -}}
{{- $ := index . 0 -}}
helm.sh/chart: {{ include "libra-guard.chart" $ }}
{{ include "libra-guard.selectorLabels" . }}
app.kubernetes.io/version: {{ $.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: libra-guard
app.kubernetes.io/managed-by: {{ $.Release.Service }}
{{- end }}

{{/* Labels of a Ray pod. Never app.kubernetes.io/name: KubeRay labels its pods
app.kubernetes.io/name=kuberay and lets a template label override it (common/pod.go,
labelPod), while the head Service selects on it (common/service.go, HeadServiceLabels): with
our name the head Service would have no endpoint and neither the operator nor a user could
reach the dashboard through it (kuberay issue 2648). Call with (list $ "ray-head"). */}}
{{- define "libra-guard.rayPodLabels" -}}
{{- $ := index . 0 -}}
helm.sh/chart: {{ include "libra-guard.chart" $ }}
{{ include "libra-guard.raySelectorLabels" . }}
app.kubernetes.io/version: {{ $.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $.Release.Service }}
libra-guard.io/platform-client: "true"
{{- end }}

{{/* What selects this release's Ray pods of one component. Call with (list $ "ray-head"). */}}
{{- define "libra-guard.raySelectorLabels" -}}
{{- $ := index . 0 -}}
app.kubernetes.io/part-of: libra-guard
app.kubernetes.io/instance: {{ $.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "libra-guard.rayTokenSecret" -}}
{{- .Values.rayAuth.existingSecret | default (printf "%s-ray-token" (include "libra-guard.fullname" .)) }}
{{- end }}

{{- define "libra-guard.image" -}}
{{- printf "%s:%s" .Values.image.repository .Values.image.tag }}
{{- end }}

{{- define "libra-guard.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .runAsUser }}
runAsGroup: {{ .runAsGroup }}
fsGroup: {{ .fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Container security context: non-root, no privilege escalation, no capabilities. */}}
{{- define "libra-guard.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .runAsUser }}
runAsGroup: {{ .runAsGroup }}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: {{ .readOnlyRootFilesystem }}
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "libra-guard.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets -}}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end }}

{{- define "libra-guard.apiKeySecret" -}}
{{- .Values.apiKey.existingSecret | default (printf "%s-api-key" (include "libra-guard.fullname" .)) }}
{{- end }}

{{/* The Serve application of the model version: serving.rollout.base.ModelTarget.app_name. */}}
{{- define "libra-guard.modelApp" -}}
{{- regexReplaceAll "[^A-Za-z0-9_-]" (printf "%s-v%s" .Values.model.name .Values.model.version) "-" }}
{{- end }}

{{/*
serveConfigV2, built as serving.rollout.serve_config builds it:
serve_document([api_app_config(MODEL_APP, config), model_app_config(MODEL_APP, URI, facts,
config)], host="0.0.0.0", port=serve.port), where config is ServingConfig.model_dump(): every
field present, so keys whose value is null (which Helm drops from values) are put back.
*/}}
{{/* The capture location, s3://BUCKET/PREFIX. */}}
{{- define "libra-guard.captureUri" -}}
{{- printf "s3://%s/%s" .Values.capture.bucket .Values.capture.prefix }}
{{- end }}

{{/* The capture Secret's name; fails the render when capture is on without one. */}}
{{- define "libra-guard.captureSecret" -}}
{{- required "capture.enabled needs capture.existingSecret: the name of a Secret holding the capture user's access key pair (keys capture.accessKeyKey and capture.secretKeyKey; the libra-platform chart creates libra-capture-credentials). The chart takes no keys in values." .Values.capture.existingSecret }}
{{- end }}

{{/* serving.capture (libra_guard.lifecycle.capture.CaptureConfig) from the capture values;
null when capture is off. */}}
{{- define "libra-guard.captureConfig" -}}
{{- if .Values.serving.capture }}
{{- fail "serving.capture is set by the chart: use the capture block instead (capture.enabled, bucket, prefix, existingSecret, rates), so the replicas also get the capture credentials" }}
{{- end }}
{{- if .Values.capture.enabled }}
{{- $_ := include "libra-guard.captureSecret" . }}
{{- toYaml (dict
  "uri" (include "libra-guard.captureUri" .)
  "rate" .Values.capture.rate
  "near_threshold_rate" .Values.capture.nearThresholdRate
  "near_threshold_margin" .Values.capture.nearThresholdMargin
  "max_partition_bytes" (int64 .Values.capture.maxPartitionBytes)) }}
{{- end }}
{{- end }}

{{- define "libra-guard.serveConfig" -}}
{{- $serving := deepCopy .Values.serving }}
{{- with include "libra-guard.captureConfig" . }}
{{- $_ := set $serving "capture" (fromYaml .) }}
{{- end }}
{{- range $key := list "autoscaling" "torch_threads" "capture" "max_chars" "auth_required" }}
{{- if not (hasKey $serving $key) }}
{{- $_ := set $serving $key nil }}
{{- end }}
{{- end }}
{{- $modelApp := include "libra-guard.modelApp" . }}
{{- $uri := .Values.model.uri | default (printf "models:/%s/%s" .Values.model.name .Values.model.version) }}
{{- $facts := dict "name" .Values.model.name "version" .Values.model.version "aliases" .Values.model.aliases "lineage" .Values.model.lineage }}
{{- $api := dict
  "name" "libra-guard"
  "route_prefix" "/"
  "import_path" "serving.app:build_api_app"
  "args" (dict "serving" $serving)
  "deployments" (list (dict "name" "GuardAPI" "user_config" (dict "model_app" $modelApp))) }}
{{- $model := dict
  "name" $modelApp
  "route_prefix" nil
  "import_path" "serving.app:build_model_app"
  "args" (dict "model" $uri "serving" $serving)
  "deployments" (list (dict "name" "GuardModel" "user_config" (dict "model" $facts))) }}
{{- $document := dict
  "proxy_location" "EveryNode"
  "http_options" (dict "host" "0.0.0.0" "port" .Values.serve.port)
  "applications" (list $api $model) }}
{{- toYaml $document }}
{{- end }}

{{/*
The environment of every Ray container: the API key, MLflow and MinIO from the platform's
ConfigMap, and local state on the /tmp volume. The replicas download model versions through
MLflow's artifact proxy (`--serve-artifacts`), so the pipeline's S3 write keys stay out of the
serving pods; the only S3 keys they may get are capture's (capture.enabled), from a Secret of
its own, for its own bucket.
*/}}
{{- define "libra-guard.rayEnv" -}}
- name: HOME
  value: /tmp
- name: LIBRA_STATE_DIR
  value: /tmp/libra
- name: LIBRA_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "libra-guard.apiKeySecret" . }}
      key: {{ .Values.apiKey.secretKey }}
- name: MLFLOW_TRACKING_URI
  valueFrom:
    configMapKeyRef:
      name: {{ .Values.platform.configMapName }}
      key: mlflow_tracking_uri
- name: MLFLOW_TRACKING_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ .Values.platform.mlflowAuthSecretName }}
      key: username
- name: MLFLOW_TRACKING_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.platform.mlflowAuthSecretName }}
      key: password
- name: LIBRA_S3_ENDPOINT
  valueFrom:
    configMapKeyRef:
      name: {{ .Values.platform.configMapName }}
      key: s3_endpoint
{{- if .Values.capture.enabled }}
{{ include "libra-guard.captureCredentialsEnv" . }}
{{- end }}
{{- end }}

{{/* LIBRA_S3_ACCESS_KEY/SECRET_KEY (libra_guard.settings) from the capture Secret. */}}
{{- define "libra-guard.captureCredentialsEnv" -}}
- name: LIBRA_S3_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "libra-guard.captureSecret" . }}
      key: {{ .Values.capture.accessKeyKey }}
- name: LIBRA_S3_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "libra-guard.captureSecret" . }}
      key: {{ .Values.capture.secretKeyKey }}
{{- end }}

{{/* Scratch volumes of every Ray pod (the root file system is read-only). */}}
{{- define "libra-guard.scratchVolumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.scratch.tmpSize }}
- name: shm
  emptyDir:
    medium: Memory
    sizeLimit: {{ .Values.scratch.shmSize }}
{{- end }}

{{- define "libra-guard.scratchMounts" -}}
- name: tmp
  mountPath: /tmp
- name: shm
  mountPath: /dev/shm
{{- end }}

{{/*
One Ray pod template. Call with (dict "ctx" $ "component" "ray-worker" "group" VALUES
"gpus" N "ports" LIST). Head and worker groups share it, so a security or env change reaches
every group. KubeRay adds the `ray start` command (through /bin/bash, which the image must
have), probes and, on workers, a wait-gcs-ready init container that inherits this container's
image, securityContext, env, volume mounts and resources, so it is hardened the same way.
*/}}
{{- define "libra-guard.rayPodTemplate" -}}
{{- $ := .ctx -}}
{{- $group := .group -}}
metadata:
  labels:
    {{- include "libra-guard.rayPodLabels" (list $ .component) | nindent 4 }}
spec:
  {{- with include "libra-guard.imagePullSecrets" $ }}{{ . | nindent 2 }}{{ end }}
  {{- /* Ray's in-tree autoscaler, a sidecar of the head, reads the pod's service-account
  token at start (python/ray/autoscaler/_private/kuberay/node_provider.py); without it the
  head never becomes Ready. KubeRay binds that account to the autoscaler's Role. */}}
  automountServiceAccountToken: {{ and (eq .component "ray-head") $.Values.autoscaler.enabled }}
  securityContext:
    {{- include "libra-guard.podSecurityContext" $.Values.securityContext | nindent 4 }}
  containers:
    - name: ray
      image: {{ include "libra-guard.image" $ }}
      imagePullPolicy: {{ $.Values.image.pullPolicy }}
      securityContext:
        {{- include "libra-guard.containerSecurityContext" $.Values.securityContext | nindent 8 }}
      env:
        {{- include "libra-guard.rayEnv" $ | nindent 8 }}
      {{- with .ports }}
      ports:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      resources:
        requests:
          {{- toYaml $group.resources.requests | nindent 10 }}
        limits:
          {{- toYaml $group.resources.limits | nindent 10 }}
          {{- if .gpus }}
          nvidia.com/gpu: {{ .gpus }}
          {{- end }}
      volumeMounts:
        {{- include "libra-guard.scratchMounts" $ | nindent 8 }}
  volumes:
    {{- include "libra-guard.scratchVolumes" $ | nindent 4 }}
  {{- with $group.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $group.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $group.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
