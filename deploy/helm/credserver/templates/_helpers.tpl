{{/* Names and labels shared by every template. */}}

{{- define "credserver.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name: the release name when it already contains the chart name
(release "credserver" gives Service "credserver"), else "<release>-<chart>".
*/}}
{{- define "credserver.fullname" -}}
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

{{- define "credserver.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "credserver.selectorLabels" -}}
app.kubernetes.io/name: {{ include "credserver.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "credserver.labels" -}}
helm.sh/chart: {{ include "credserver.chart" . }}
{{ include "credserver.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: credserver
{{- end }}

{{- define "credserver.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "credserver.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Where the ConfigMap's config.yaml is mounted. */}}
{{- define "credserver.configDir" -}}/etc/credserver/config{{- end }}

{{/*
The config file: .Values.config with listen and metrics_listen set from the
chart's ports, so the probes, the Service and the server always agree.
*/}}
{{- define "credserver.config" -}}
{{- $cfg := deepCopy (.Values.config | default dict) }}
{{- $_ := set $cfg "listen" (printf "0.0.0.0:%d" (int .Values.containerPort)) }}
{{- if .Values.metrics.separatePort }}
{{- $_ := set $cfg "metrics_listen" (printf "0.0.0.0:%d" (int .Values.metrics.port)) }}
{{- else }}
{{- $_ := unset $cfg "metrics_listen" }}
{{- end }}
{{- if .Values.hubApiToken.secretName }}
{{- $hub := deepCopy ($cfg.hub | default dict) }}
{{- $_ := set $hub "api_token_file" "/etc/credserver/hub-api-token/api-token" }}
{{- $_ := set $cfg "hub" $hub }}
{{- end }}
{{- if .Values.sessionKey.secretName }}
{{- $web := deepCopy ($cfg.web | default dict) }}
{{- $_ := set $web "session_key_file" "/etc/credserver/session-key/session.key" }}
{{- $_ := set $cfg "web" $web }}
{{- end }}
{{- toYaml $cfg }}
{{- end }}

{{/*
Refuse settings that would run but misbehave: several pods each with its own
SQLite store would each hold a different set of users' GitHub links.
*/}}
{{- define "credserver.validate" -}}
{{- $_ := required "config.hub.api_url is required (z2jh: http://hub:8081/hub/api)" ((.Values.config | default dict).hub | default dict).api_url }}
{{- $several := or .Values.autoscaling.enabled (gt (int .Values.replicaCount) 1) }}
{{- $driver := (((.Values.config | default dict).store | default dict).driver | default "sqlite") }}
{{- if and $several (eq $driver "sqlite") }}
{{- range ((.Values.config | default dict).grants | default list) }}
{{- if eq (toString .mode) "user" }}
{{- fail (printf "grant %q is a GitHub user grant: with more than one pod set config.store.driver to postgres (users' GitHub links live in the store)" .name) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
