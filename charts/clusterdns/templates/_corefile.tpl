{{/*
clusterdns.corefile renders the Corefile from servers and extraConfig in
kubeadm's layout: plugins indented by four spaces, their blocks by seven.
Each zone of a server block gets the server's port.
*/}}
{{- define "clusterdns.corefile" -}}
{{- $blocks := list -}}
{{- range $name, $conf := .Values.extraConfig -}}
{{- $line := $name -}}
{{- if $conf.parameters }}{{ $line = printf "%s %v" $name $conf.parameters }}{{ end -}}
{{- $blocks = append $blocks $line -}}
{{- end -}}
{{- range .Values.servers -}}
{{- $blocks = append $blocks (include "clusterdns.serverBlock" .) -}}
{{- end -}}
{{- join "\n" $blocks -}}
{{- end -}}

{{/* clusterdns.serverBlock renders one entry of servers. */}}
{{- define "clusterdns.serverBlock" -}}
{{- $server := . -}}
{{- $keys := list -}}
{{- range (default (list (dict "zone" ".")) .zones) -}}
{{- $key := printf "%s%s" (default "" .scheme) (default "." .zone) -}}
{{- if $server.port }}{{ $key = printf "%s:%v" $key $server.port }}{{ end -}}
{{- $keys = append $keys $key -}}
{{- end -}}
{{- join " " $keys }} {
{{- range .plugins }}
    {{ .name }}{{ if .parameters }} {{ .parameters }}{{ end }}{{ if .configBlock }} {
{{ .configBlock | trim | indent 7 }}
    }{{ end }}
{{- end }}
}
{{- end -}}

{{/*
clusterdns.pluginPort is the port a plugin of servers listens on, from the
last ":"-separated part of its first parameter, or the default passed:
(list $ "prometheus" 9153). Empty when no server has the plugin.
*/}}
{{- define "clusterdns.pluginPort" -}}
{{- $top := index . 0 -}}
{{- $plugin := index . 1 -}}
{{- $port := "" -}}
{{- range $top.Values.servers -}}
{{- range .plugins -}}
{{- if and (eq .name $plugin) (not $port) -}}
{{- $port = toString (index $ 2) -}}
{{- $addr := first (splitList " " (toString (default "" .parameters))) -}}
{{- if contains ":" $addr }}{{ $port = last (splitList ":" $addr) }}{{ end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $port -}}
{{- end -}}
