//go:build e2e

package helm

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The keys of the objects the tests look at.
const (
	deploymentKey  = "Deployment kube-system/coredns"
	serviceKey     = "Service kube-system/kube-dns"
	configMapKey   = "ConfigMap kube-system/coredns"
	clusterRoleKey = "ClusterRole /system:coredns"
)

// TestTemplate renders the chart offline with values beyond the defaults,
// as `helm template` does, and checks what each value is for; values the
// templates refuse must fail with the templates' message.
func TestTemplate(t *testing.T) {
	ch := loadChart(t, chartDir)
	tests := []struct {
		name    string
		values  string // YAML
		wantErr string
		check   func(t *testing.T, objs []object)
	}{
		{
			name:   "image",
			values: "image: {repository: registry.example.com/dns/clusterdns, tag: 1.2.3, pullPolicy: Always}\n",
			check: func(t *testing.T, objs []object) {
				c := lookup[*appsv1.Deployment](t, objs, deploymentKey).Spec.Template.Spec.Containers[0]
				if c.Image != "registry.example.com/dns/clusterdns:1.2.3" || c.ImagePullPolicy != corev1.PullAlways {
					t.Errorf("image %s, pull policy %s", c.Image, c.ImagePullPolicy)
				}
			},
		},
		{
			name:   "hpa leaves the replicas to it",
			values: "replicaCount: 5\nhpa: {enabled: true, minReplicas: 2, maxReplicas: 6}\n",
			check: func(t *testing.T, objs []object) {
				if d := lookup[*appsv1.Deployment](t, objs, deploymentKey); d.Spec.Replicas != nil {
					t.Errorf("replicas %d with an HPA", *d.Spec.Replicas)
				}
				h := lookup[*autoscalingv2.HorizontalPodAutoscaler](t, objs, "HorizontalPodAutoscaler kube-system/coredns")
				if h.Spec.ScaleTargetRef.Name != "coredns" || h.Spec.MaxReplicas != 6 || *h.Spec.MinReplicas != 2 {
					t.Errorf("HPA %+v", h.Spec)
				}
			},
		},
		{
			name:   "NodePort",
			values: "serviceType: NodePort\nservers: [{zones: [{zone: ., use_tcp: true}], port: 53, nodePort: 30053, plugins: [{name: health}, {name: ready}, {name: clusterdns}]}]\n",
			check: func(t *testing.T, objs []object) {
				s := lookup[*corev1.Service](t, objs, serviceKey)
				if s.Spec.Type != corev1.ServiceTypeNodePort {
					t.Errorf("type %q", s.Spec.Type)
				}
				if got := portList(s.Spec.Ports); !slices.Equal(got, []string{"dns 53/UDP->53 node 30053", "dns-tcp 53/TCP->53 node 30053"}) {
					t.Errorf("ports %v", got)
				}
			},
		},
		{
			name: "servers make the Corefile and the ports",
			values: `servers:
- {zones: [{zone: .}], port: 53, plugins: [{name: health, parameters: ":8090"}, {name: ready}, {name: clusterdns, parameters: cluster.local}, {name: prometheus, parameters: "0.0.0.0:9253"}]}
- {zones: [{zone: example.org, scheme: "tls://"}, {zone: example.net, scheme: "tls://"}], port: 853, servicePort: 8853, plugins: [{name: forward, parameters: ". 192.0.2.1", configBlock: "max_fails 3\nexpire 10s"}]}
extraConfig: {import: {parameters: /etc/coredns/extra/*.conf}}
`,
			check: func(t *testing.T, objs []object) {
				want := "import /etc/coredns/extra/*.conf\n" +
					".:53 {\n    health :8090\n    ready\n    clusterdns cluster.local\n    prometheus 0.0.0.0:9253\n}\n" +
					"tls://example.org:853 tls://example.net:853 {\n    forward . 192.0.2.1 {\n       max_fails 3\n       expire 10s\n    }\n}\n"
				if got := lookup[*corev1.ConfigMap](t, objs, configMapKey).Data["Corefile"]; got != want {
					t.Errorf("Corefile\n%s\nwant\n%s", got, want)
				}
				s := lookup[*corev1.Service](t, objs, serviceKey)
				if got := portList(s.Spec.Ports); !slices.Equal(got, []string{"dns 53/UDP->53", "tcp-853 8853/TCP->853", "metrics 9253/TCP->9253"}) {
					t.Errorf("Service ports %v", got)
				}
				c := lookup[*appsv1.Deployment](t, objs, deploymentKey).Spec.Template.Spec.Containers[0]
				var ports []string
				for _, p := range c.Ports {
					ports = append(ports, p.Name+" "+string(p.Protocol)+" "+itoa(p.ContainerPort))
				}
				if want := []string{"dns UDP 53", "tcp-853 TCP 853", "metrics TCP 9253", "liveness-probe TCP 8090", "readiness-probe TCP 8181"}; !slices.Equal(ports, want) {
					t.Errorf("container ports %v, want %v", ports, want)
				}
				if c.LivenessProbe.HTTPGet.Port.StrVal != "liveness-probe" {
					t.Errorf("liveness probe on %v", c.LivenessProbe.HTTPGet.Port)
				}
			},
		},
		{
			name:   "RBAC follows the Corefile",
			values: "servers: [{zones: [{zone: .}], plugins: [{name: health}, {name: ready}, {name: clusterdns, parameters: cluster.local clusterset.local, configBlock: \"client_zone_first\\nmulticluster clusterset.local\"}]}]\n",
			check: func(t *testing.T, objs []object) {
				role := lookup[*rbacv1.ClusterRole](t, objs, clusterRoleKey)
				want := []string{"/services,namespaces", "discovery.k8s.io/endpointslices", "/pods,nodes", "multicluster.x-k8s.io/serviceimports"}
				if got := ruleList(role.Rules); !slices.Equal(got, want) {
					t.Errorf("rules %v, want %v", got, want)
				}
			},
		},
		{
			name:   "RBAC for traffic_distribution",
			values: "servers: [{zones: [{zone: .}], plugins: [{name: health}, {name: ready}, {name: clusterdns, configBlock: \"traffic_distribution\"}]}]\n",
			check: func(t *testing.T, objs []object) {
				role := lookup[*rbacv1.ClusterRole](t, objs, clusterRoleKey)
				want := []string{"/services,namespaces", "discovery.k8s.io/endpointslices", "/pods,nodes"}
				if got := ruleList(role.Rules); !slices.Equal(got, want) {
					t.Errorf("rules %v, want %v", got, want)
				}
			},
		},
		{
			name:   "RBAC for isolate",
			values: "servers: [{zones: [{zone: .}], plugins: [{name: health}, {name: ready}, {name: clusterdns, configBlock: \"isolate {\\n shared kube-system\\n}\"}]}]\n",
			check: func(t *testing.T, objs []object) {
				role := lookup[*rbacv1.ClusterRole](t, objs, clusterRoleKey)
				want := []string{"/services,namespaces", "discovery.k8s.io/endpointslices", "/pods"}
				if got := ruleList(role.Rules); !slices.Equal(got, want) {
					t.Errorf("rules %v, want %v", got, want)
				}
			},
		},
		{
			name:   "no RBAC, an existing ServiceAccount",
			values: "rbac: {create: false}\nserviceAccount: {create: false, name: dns}\n",
			check: func(t *testing.T, objs []object) {
				for _, o := range objs {
					if strings.HasPrefix(o.key, "ClusterRole") || strings.HasPrefix(o.key, "ServiceAccount") {
						t.Errorf("%s rendered", o.key)
					}
				}
				if sa := lookup[*appsv1.Deployment](t, objs, deploymentKey).Spec.Template.Spec.ServiceAccountName; sa != "dns" {
					t.Errorf("serviceAccountName %q", sa)
				}
			},
		},
		{
			name:   "the selector of a coredns/helm release",
			values: "deployment: {selector: {matchLabels: {app.kubernetes.io/instance: dns, app.kubernetes.io/name: coredns, k8s-app: kube-dns}}}\npodLabels: {team: dns}\n",
			check: func(t *testing.T, objs []object) {
				d := lookup[*appsv1.Deployment](t, objs, deploymentKey)
				want := map[string]string{"app.kubernetes.io/instance": "dns", "app.kubernetes.io/name": "coredns", "k8s-app": "kube-dns"}
				if !reflect.DeepEqual(d.Spec.Selector.MatchLabels, want) {
					t.Errorf("selector %v", d.Spec.Selector.MatchLabels)
				}
				want["team"] = "dns"
				if !reflect.DeepEqual(d.Spec.Template.Labels, want) {
					t.Errorf("pod labels %v, want %v", d.Spec.Template.Labels, want)
				}
				if s := lookup[*corev1.Service](t, objs, serviceKey); !reflect.DeepEqual(s.Spec.Selector, map[string]string{"k8s-app": "kube-dns"}) {
					t.Errorf("Service selector %v", s.Spec.Selector)
				}
			},
		},
		{
			name:   "metrics Service and ServiceMonitor",
			values: "prometheus: {service: {enabled: true}, monitor: {enabled: true, interval: 15s, additionalLabels: {release: monitoring}}}\n",
			check: func(t *testing.T, objs []object) {
				s := lookup[*corev1.Service](t, objs, "Service kube-system/coredns-metrics")
				if got := portList(s.Spec.Ports); !slices.Equal(got, []string{"metrics 9153/TCP->9153"}) || s.Annotations["prometheus.io/scrape"] != "true" {
					t.Errorf("metrics Service ports %v, annotations %v", got, s.Annotations)
				}
				var monitor *unstructured.Unstructured
				for _, o := range objs {
					if o.key == "ServiceMonitor kube-system/coredns" {
						monitor = &unstructured.Unstructured{Object: o.content}
					}
				}
				if monitor == nil {
					t.Fatalf("no ServiceMonitor among %v", keys(objs))
				}
				sel, _, _ := unstructured.NestedStringMap(monitor.Object, "spec", "selector", "matchLabels")
				for k, v := range sel {
					if s.Labels[k] != v {
						t.Errorf("the ServiceMonitor selects %s=%s, the metrics Service has %v", k, v, s.Labels)
					}
				}
				endpoints, _, _ := unstructured.NestedSlice(monitor.Object, "spec", "endpoints")
				if len(endpoints) != 1 || endpoints[0].(map[string]any)["port"] != "metrics" || endpoints[0].(map[string]any)["interval"] != "15s" || monitor.GetLabels()["release"] != "monitoring" {
					t.Errorf("ServiceMonitor %v", monitor.Object)
				}
			},
		},
		{
			name:   "no memory limit, no GOMEMLIMIT",
			values: "resources: {limits: null}\nenv: [{name: GODEBUG, value: madvdontneed=1}]\n",
			check: func(t *testing.T, objs []object) {
				c := lookup[*appsv1.Deployment](t, objs, deploymentKey).Spec.Template.Spec.Containers[0]
				if len(c.Env) != 1 || c.Env[0].Name != "GODEBUG" {
					t.Errorf("env %v", c.Env)
				}
			},
		},
		{
			name:   "zone files",
			values: "zoneFiles: [{filename: example.db, domain: example.com, contents: \"example.com. IN SOA ns. admin. 1 7200 3600 1209600 3600\\n\"}]\n",
			check: func(t *testing.T, objs []object) {
				if got := lookup[*corev1.ConfigMap](t, objs, configMapKey).Data["example.db"]; !strings.HasPrefix(got, "example.com. IN SOA") {
					t.Errorf("example.db %q", got)
				}
				items := lookup[*appsv1.Deployment](t, objs, deploymentKey).Spec.Template.Spec.Volumes[0].ConfigMap.Items
				if len(items) != 2 || items[1].Key != "example.db" {
					t.Errorf("volume items %v", items)
				}
			},
		},
		{
			name:   "no disruption budget, no priority class",
			values: "podDisruptionBudget: null\npriorityClassName: \"\"\n",
			check: func(t *testing.T, objs []object) {
				for _, o := range objs {
					if strings.HasPrefix(o.key, "PodDisruptionBudget") {
						t.Errorf("%s rendered", o.key)
					}
				}
				if p := lookup[*appsv1.Deployment](t, objs, deploymentKey).Spec.Template.Spec.PriorityClassName; p != "" {
					t.Errorf("priorityClassName %q", p)
				}
			},
		},
		{name: "liveness probe without the health plugin", values: "servers: [{zones: [{zone: .}], plugins: [{name: ready}, {name: clusterdns}]}]\n", wantErr: "livenessProbe needs the health plugin"},
		{name: "readiness probe without the ready plugin", values: "servers: [{zones: [{zone: .}], plugins: [{name: health}, {name: clusterdns}]}]\n", wantErr: "readinessProbe needs the ready plugin"},
		{name: "dnsPolicy None without dnsConfig", values: "deployment: {dnsPolicy: None}\n", wantErr: "deployment.dnsConfig is required"},
		{name: "ServiceMonitor without its Service", values: "prometheus: {monitor: {enabled: true}}\n", wantErr: "prometheus.monitor needs prometheus.service.enabled"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vals := userValues(t, []string{valuesFile(t, tc.values)})
			manifest, err := template(ch, vals)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("rendering: %v; want an error saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("rendering: %v", err)
			}
			objs, err := decode([]byte(manifest))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, objs)
		})
	}
}

// portList writes Service ports as "name port/protocol->target [node N]".
func portList(ports []corev1.ServicePort) []string {
	var out []string
	for _, p := range ports {
		s := p.Name + " " + itoa(p.Port) + "/" + string(p.Protocol) + "->" + p.TargetPort.String()
		if p.NodePort != 0 {
			s += " node " + itoa(p.NodePort)
		}
		out = append(out, s)
	}
	return out
}

// ruleList writes RBAC rules as "group/resource,resource", verbs aside:
// every rule of the chart's ClusterRole is list and watch.
func ruleList(rules []rbacv1.PolicyRule) []string {
	var out []string
	for _, r := range rules {
		if !slices.Equal(r.Verbs, []string{"list", "watch"}) {
			out = append(out, "verbs "+strings.Join(r.Verbs, ","))
		}
		out = append(out, strings.Join(r.APIGroups, ",")+"/"+strings.Join(r.Resources, ","))
	}
	return out
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }
