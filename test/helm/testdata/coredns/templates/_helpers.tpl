{{/* The release's name, or <release>-coredns, as coredns/helm names objects. */}}
{{- define "fixture.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name -}}
{{- end -}}
{{- end -}}

{{- define "fixture.k8sapp" -}}
{{- default .Chart.Name .Values.k8sAppLabelOverride -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "fixture.labels" -}}
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
helm.sh/chart: "{{ .Chart.Name }}-{{ .Chart.Version }}"
k8s-app: {{ include "fixture.k8sapp" . }}
kubernetes.io/cluster-service: "true"
kubernetes.io/name: "CoreDNS"
app.kubernetes.io/name: {{ .Chart.Name }}
{{- end -}}

{{/* What selects the pods: release, k8s-app and name. */}}
{{- define "fixture.selector" -}}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
k8s-app: {{ include "fixture.k8sapp" . }}
app.kubernetes.io/name: {{ .Chart.Name }}
{{- end -}}

{{- define "fixture.serviceAccount" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "fixture.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}
