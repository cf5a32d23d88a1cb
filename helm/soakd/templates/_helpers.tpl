{{/*
_helpers.tpl — why this exists: names, labels and small decisions (CRD detection, config
source) shared by every soakd template.
*/}}

{{- define "soakd.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "soakd.fullname" -}}
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

{{- define "soakd.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "soakd.selectorLabels" -}}
app.kubernetes.io/name: {{ include "soakd.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "soakd.labels" -}}
helm.sh/chart: {{ include "soakd.chart" . }}
{{ include "soakd.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: soakd
{{- end }}

{{- define "soakd.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "soakd.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "soakd.configMapName" -}}
{{- if .Values.existingConfigMap }}
{{- .Values.existingConfigMap }}
{{- else }}
{{- printf "%s-config" (include "soakd.fullname" .) }}
{{- end }}
{{- end }}

{{- define "soakd.adminTokenSecretName" -}}
{{- if .Values.adminToken.existingSecret }}
{{- .Values.adminToken.existingSecret }}
{{- else if .Values.adminToken.create }}
{{- printf "%s-admin-token" (include "soakd.fullname" .) }}
{{- end }}
{{- end }}

{{/* "true" when the ServiceMonitor should be rendered: forced, or its CRD is served. */}}
{{- define "soakd.serviceMonitor.enabled" -}}
{{- if or .Values.serviceMonitor.enabled (and .Values.serviceMonitor.autoDetect (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1/ServiceMonitor")) }}true{{ end }}
{{- end }}

{{- define "soakd.prometheusRule.enabled" -}}
{{- if or .Values.prometheusRule.enabled (and .Values.prometheusRule.autoDetect (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1/PrometheusRule")) }}true{{ end }}
{{- end }}
