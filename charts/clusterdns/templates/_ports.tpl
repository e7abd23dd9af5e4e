{{/*
clusterdns.dnsPorts lists, as JSON, the DNS ports the servers listen on, in
the order of servers, UDP before TCP: {name, port, protocol, servicePort,
nodePort, hostPort}. A zone without a scheme or with dns:// is served over
UDP, and over TCP too with use_tcp; tls://, grpc:// and https:// over TCP.
Port 53 keeps kubeadm's names, dns and dns-tcp; others are udp-<port> and
tcp-<port>.
*/}}
{{- define "clusterdns.dnsPorts" -}}
{{- $seen := dict -}}
{{- $ports := list -}}
{{- range .Values.servers -}}
{{- $server := . -}}
{{- $port := int (default 53 .port) -}}
{{- $udp := false -}}
{{- $tcp := false -}}
{{- range (default (list (dict "zone" ".")) .zones) -}}
{{- if has (default "" .scheme) (list "" "dns://") -}}
{{- $udp = true -}}
{{- if .use_tcp }}{{ $tcp = true }}{{ end -}}
{{- else if has .scheme (list "tls://" "grpc://" "https://") -}}
{{- $tcp = true -}}
{{- end -}}
{{- end -}}
{{- range $protocol := list "UDP" "TCP" -}}
{{- $key := printf "%d/%s" $port $protocol -}}
{{- if and (ternary $udp $tcp (eq $protocol "UDP")) (not (hasKey $seen $key)) -}}
{{- $_ := set $seen $key true -}}
{{- $name := printf "%s-%d" (lower $protocol) $port -}}
{{- if eq $port 53 }}{{ $name = ternary "dns" "dns-tcp" (eq $protocol "UDP") }}{{ end -}}
{{- $p := dict "name" $name "port" $port "protocol" $protocol "servicePort" (int (default $port $server.servicePort)) -}}
{{- if $server.nodePort }}{{ $_ := set $p "nodePort" (int $server.nodePort) }}{{ end -}}
{{- if $server.hostPort }}{{ $_ := set $p "hostPort" (int $server.hostPort) }}{{ end -}}
{{- $ports = append $ports $p -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $ports -}}
{{- end -}}

{{/* clusterdns.servicePorts renders the Service's ports: DNS, then metrics. */}}
{{- define "clusterdns.servicePorts" -}}
{{- range (include "clusterdns.dnsPorts" . | fromJsonArray) }}
- name: {{ .name }}
  port: {{ .servicePort }}
  protocol: {{ .protocol }}
  targetPort: {{ .port }}
  {{- if .nodePort }}
  nodePort: {{ .nodePort }}
  {{- end }}
{{- end }}
{{- with include "clusterdns.pluginPort" (list . "prometheus" 9153) }}
- name: metrics
  port: {{ . }}
  protocol: TCP
  targetPort: {{ . }}
{{- end }}
{{- end -}}

{{/*
clusterdns.containerPorts renders the container's ports: DNS, metrics, and
the ports the probes use, named as kubeadm names them.
*/}}
{{- define "clusterdns.containerPorts" -}}
{{- range (include "clusterdns.dnsPorts" . | fromJsonArray) }}
- name: {{ .name }}
  containerPort: {{ .port }}
  protocol: {{ .protocol }}
  {{- if .hostPort }}
  hostPort: {{ .hostPort }}
  {{- end }}
{{- end }}
{{- with include "clusterdns.pluginPort" (list . "prometheus" 9153) }}
- name: metrics
  containerPort: {{ . }}
  protocol: TCP
{{- end }}
{{- with include "clusterdns.pluginPort" (list . "health" 8080) }}
- name: liveness-probe
  containerPort: {{ . }}
  protocol: TCP
{{- end }}
{{- with include "clusterdns.pluginPort" (list . "ready" 8181) }}
- name: readiness-probe
  containerPort: {{ . }}
  protocol: TCP
{{- end }}
{{- end -}}
