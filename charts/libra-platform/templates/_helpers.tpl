{{/*
Names, labels, security contexts and generated credentials shared by every template.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "libra-platform.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The prefix of every resource name: RELEASE-CHART unless the release already names it. */}}
{{- define "libra-platform.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* A component's resource name: FULLNAME-COMPONENT. Call with (list $ "mlflow"). */}}
{{- define "libra-platform.componentName" -}}
{{- printf "%s-%s" (include "libra-platform.fullname" (index . 0)) (index . 1) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "libra-platform.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels of a component. Call with (list $ "mlflow"). */}}
{{- define "libra-platform.selectorLabels" -}}
{{- $ := index . 0 -}}
app.kubernetes.io/name: {{ include "libra-platform.name" $ }}
app.kubernetes.io/instance: {{ $.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/* The full standard label set of a component. Call with (list $ "mlflow"). */}}
{{- define "libra-platform.labels" -}}
{{- $ := index . 0 -}}
helm.sh/chart: {{ include "libra-platform.chart" $ }}
{{ include "libra-platform.selectorLabels" . }}
app.kubernetes.io/version: {{ $.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: libra-guard
app.kubernetes.io/managed-by: {{ $.Release.Service }}
{{- end }}

{{/* An image reference from {repository, tag}. */}}
{{- define "libra-platform.image" -}}
{{- printf "%s:%s" .repository .tag }}
{{- end }}

{{/* Pod-level security context from a component's securityContext values. */}}
{{- define "libra-platform.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .runAsUser }}
runAsGroup: {{ .runAsGroup }}
fsGroup: {{ .fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Container security context: non-root, no privilege escalation, no capabilities. */}}
{{- define "libra-platform.containerSecurityContext" -}}
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

{{- define "libra-platform.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets -}}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end }}

{{/*
A credential: the value given in values; else the one already stored in the Secret (so an
upgrade keeps it); else a new random one. Call with
(dict "ctx" $ "secret" NAME "key" KEY "given" VALUE). Under `helm template` there is no cluster
to look up, so every render generates a fresh value.
*/}}
{{- define "libra-platform.credential" -}}
{{- if .given }}
{{- .given }}
{{- else }}
{{- $existing := lookup "v1" "Secret" .ctx.Release.Namespace .secret }}
{{- $data := dig "data" (dict) ($existing | default (dict)) }}
{{- if hasKey $data .key }}
{{- index $data .key | b64dec }}
{{- else }}
{{- randAlphaNum 32 }}
{{- end }}
{{- end }}
{{- end }}

{{/* Secret names: the existing one when given, else the chart's own. */}}
{{- define "libra-platform.postgresqlSecret" -}}
{{- .Values.postgresql.auth.existingSecret | default (include "libra-platform.componentName" (list . "postgresql")) }}
{{- end }}

{{- define "libra-platform.minioSecret" -}}
{{- .Values.minio.auth.existingSecret | default (include "libra-platform.componentName" (list . "minio")) }}
{{- end }}

{{- define "libra-platform.captureSecret" -}}
{{- .Values.capture.existingSecret | default .Values.capture.secretName }}
{{- end }}

{{- define "libra-platform.credentialsSecret" -}}
{{- .Values.pipeline.credentials.existingSecret | default .Values.pipeline.credentials.secretName }}
{{- end }}

{{/* In-cluster endpoints. */}}
{{- define "libra-platform.postgresqlHost" -}}
{{- printf "%s.%s.svc" (include "libra-platform.componentName" (list . "postgresql")) .Release.Namespace }}
{{- end }}

{{- define "libra-platform.minioEndpoint" -}}
{{- printf "http://%s.%s.svc:9000" (include "libra-platform.componentName" (list . "minio")) .Release.Namespace }}
{{- end }}

{{- define "libra-platform.mlflowUri" -}}
{{- printf "http://%s.%s.svc:5000" (include "libra-platform.componentName" (list . "mlflow")) .Release.Namespace }}
{{- end }}
