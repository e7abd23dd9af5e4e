{{/* Names and labels the templates share. */}}

{{/* clusterdns.name is the chart's name, or nameOverride. */}}
{{- define "clusterdns.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
clusterdns.fullname names the Deployment, the ConfigMap and the
PodDisruptionBudget: fullnameOverride (by default kubeadm's "coredns"), or
<release>-<name>.
*/}}
{{- define "clusterdns.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "clusterdns.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* clusterdns.k8sapplabel is the value of the pods' k8s-app label. */}}
{{- define "clusterdns.k8sapplabel" -}}
{{- default (include "clusterdns.name" .) .Values.k8sAppLabelOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
clusterdns.selectorLabels are the labels that pick the DNS pods: kubeadm's
k8s-app, or the chart's name and release when isClusterService is off.
*/}}
{{- define "clusterdns.selectorLabels" -}}
{{- if .Values.isClusterService -}}
k8s-app: {{ include "clusterdns.k8sapplabel" . }}
{{- else -}}
app.kubernetes.io/name: {{ include "clusterdns.name" . }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
{{- end -}}
{{- end -}}

{{/*
clusterdns.deploymentSelector is the Deployment's selector: deployment.selector,
or matchLabels of the selector labels.
*/}}
{{- define "clusterdns.deploymentSelector" -}}
{{- if .Values.deployment.selector -}}
{{- toYaml .Values.deployment.selector -}}
{{- else -}}
matchLabels:
  {{- include "clusterdns.selectorLabels" . | nindent 2 }}
{{- end -}}
{{- end -}}

{{/*
clusterdns.labels are the labels of objects that are not the Service: the
selector labels on those that select or are selected, then customLabels.
Pass (list $ true) for the selector labels, (list $ false) without.
*/}}
{{- define "clusterdns.labels" -}}
{{- $top := index . 0 -}}
{{- $labels := dict -}}
{{- if index . 1 -}}
{{- $labels = include "clusterdns.selectorLabels" $top | fromYaml -}}
{{- end -}}
{{- $labels = merge (deepCopy $top.Values.customLabels) $labels -}}
{{- if $labels -}}
labels:
  {{- toYaml $labels | nindent 2 }}
{{- end -}}
{{- end -}}

{{/* clusterdns.annotations renders customAnnotations merged with the extra dict passed. */}}
{{- define "clusterdns.annotations" -}}
{{- $top := index . 0 -}}
{{- $annotations := merge (deepCopy (index . 1)) (deepCopy $top.Values.customAnnotations) -}}
{{- if $annotations -}}
annotations:
  {{- toYaml $annotations | nindent 2 }}
{{- end -}}
{{- end -}}

{{/* clusterdns.serviceAccountName is the ServiceAccount the pods run as. */}}
{{- define "clusterdns.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "clusterdns.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* clusterdns.clusterRoleName names the ClusterRole and its binding. */}}
{{- define "clusterdns.clusterRoleName" -}}
{{- if and .Values.clusterRole .Values.clusterRole.nameOverride -}}
{{- .Values.clusterRole.nameOverride -}}
{{- else -}}
{{- include "clusterdns.fullname" . -}}
{{- end -}}
{{- end -}}

{{/* clusterdns.image is the DNS server's image reference. */}}
{{- define "clusterdns.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
