//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/clusterdns/clusterdns/test/controlplane"
)

// repoRoot is the repository, seen from this package's directory, where go
// test runs.
const repoRoot = "../.."

// overlays are the directories under deploy/overlays.
var overlays = []string{"autoscaler", "canary", "cluster-domain", "isolate", "nodelocaldns", "pods-verified", "traffic-distribution"}

const (
	ourImage   = "ghcr.io/clusterdns/coredns:0.1.0"
	stockImage = "registry.k8s.io/coredns/coredns:v1.14.6"
	dnsIP      = "10.96.0.10"
)

// render runs kubectl kustomize on a directory of the repository.
func render(dir string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(env.bin, "kubectl"), "kustomize", dir)
	cmd.Dir = repoRoot
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("kubectl kustomize %s: %w\n%s", dir, err, stderr.String())
	}
	return out, nil
}

// strict decodes manifests into typed objects and refuses unknown or
// duplicated fields, which the API server would otherwise drop or reject.
var strict = serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()

// decode splits rendered YAML into objects.
func decode(b []byte) ([]runtime.Object, error) {
	var objs []runtime.Object
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj, _, err := strict.Decode(doc, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("%w in\n%s", err, doc)
		}
		objs = append(objs, obj)
	}
}

func renderObjects(t *testing.T, dir string) []runtime.Object {
	t.Helper()
	b, err := render(dir)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decode(b)
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	return objs
}

// find returns the object of type T named name, or fails.
func find[T metav1.Object](t *testing.T, objs []runtime.Object, name string) T {
	t.Helper()
	for _, o := range objs {
		if v, ok := o.(T); ok && v.GetName() == name {
			return v
		}
	}
	var zero T
	t.Fatalf("no %T named %q in the manifests", zero, name)
	return zero
}

// shipped caches the ClusterRole of deploy/, which the suite's DNS user
// holds (seedRBAC), so kubectl runs once however often the cluster is seeded.
var shipped struct {
	once sync.Once
	role *rbacv1.ClusterRole
	err  error
}

// shippedClusterRole is the ClusterRole system:coredns as deploy/ renders it.
func shippedClusterRole() (*rbacv1.ClusterRole, error) {
	shipped.once.Do(func() {
		b, err := render("deploy")
		if err != nil {
			shipped.err = err
			return
		}
		objs, err := decode(b)
		if err != nil {
			shipped.err = err
			return
		}
		for _, o := range objs {
			if r, ok := o.(*rbacv1.ClusterRole); ok && r.Name == "system:coredns" {
				shipped.role = r
				return
			}
		}
		shipped.err = errors.New("deploy/ renders no ClusterRole system:coredns")
	})
	return shipped.role, shipped.err
}

// grants lists what rules allow, as "group/resource:verb", sorted.
func grants(rules []rbacv1.PolicyRule) []string {
	var out []string
	for _, r := range rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					out = append(out, g+"/"+res+":"+v)
				}
			}
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// TestManifests checks the rendered manifests for what makes them a drop-in
// for kubeadm's cluster DNS: names, labels, selectors, ports, probes,
// scheduling, security settings and RBAC. It needs no cluster, only
// kubectl.
func TestManifests(t *testing.T) {
	base := renderObjects(t, "deploy")
	if b, a := must(render("deploy")), must(render("deploy/base")); !bytes.Equal(a, b) {
		t.Error("deploy/ and deploy/base render differently")
	}
	var names []string
	for _, o := range base {
		m := o.(metav1.Object)
		names = append(names, fmt.Sprintf("%T %s/%s", o, m.GetNamespace(), m.GetName()))
	}
	sort.Strings(names)
	want := []string{
		"*v1.ClusterRole /system:coredns",
		"*v1.ClusterRoleBinding /system:coredns",
		"*v1.ConfigMap kube-system/coredns",
		"*v1.Deployment kube-system/coredns",
		"*v1.PodDisruptionBudget kube-system/coredns",
		"*v1.Service kube-system/kube-dns",
		"*v1.ServiceAccount kube-system/coredns",
	}
	if !slices.Equal(names, want) {
		t.Fatalf("deploy/ renders\n  %s\nwant\n  %s", strings.Join(names, "\n  "), strings.Join(want, "\n  "))
	}
	kubeDNS := map[string]string{"k8s-app": "kube-dns"}

	t.Run("service", func(t *testing.T) {
		svc := find[*corev1.Service](t, base, "kube-dns")
		if svc.Spec.ClusterIP != dnsIP {
			t.Errorf("clusterIP %q, want %s", svc.Spec.ClusterIP, dnsIP)
		}
		if !mapsEqual(svc.Spec.Selector, kubeDNS) {
			t.Errorf("selector %v, want %v", svc.Spec.Selector, kubeDNS)
		}
		for k, v := range map[string]string{"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS"} {
			if svc.Labels[k] != v {
				t.Errorf("label %s=%q, want %q", k, svc.Labels[k], v)
			}
		}
		for k, v := range map[string]string{"prometheus.io/port": "9153", "prometheus.io/scrape": "true"} {
			if svc.Annotations[k] != v {
				t.Errorf("annotation %s=%q, want %q", k, svc.Annotations[k], v)
			}
		}
		wantPorts := []corev1.ServicePort{
			{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(53)},
			{Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(53)},
			{Name: "metrics", Port: 9153, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(9153)},
		}
		if !slices.Equal(svc.Spec.Ports, wantPorts) {
			t.Errorf("ports %+v, want %+v", svc.Spec.Ports, wantPorts)
		}
	})

	t.Run("deployment", func(t *testing.T) {
		d := find[*appsv1.Deployment](t, base, "coredns")
		checkDeployment(t, d)
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
			t.Errorf("replicas %v, want kubeadm's 2", d.Spec.Replicas)
		}
		if c := d.Spec.Template.Spec.Containers[0]; c.Image != ourImage {
			t.Errorf("image %q, want %q", c.Image, ourImage)
		}
	})

	t.Run("corefile", func(t *testing.T) {
		cm := find[*corev1.ConfigMap](t, base, "coredns")
		example := string(must(os.ReadFile(filepath.Join(repoRoot, "Corefile.example"))))
		if cm.Data["Corefile"] != example {
			t.Errorf("ConfigMap coredns's Corefile is not Corefile.example:\n%s", cm.Data["Corefile"])
		}
		if len(cm.Data) != 1 {
			t.Errorf("ConfigMap coredns has keys %v, want only Corefile", keys(cm.Data))
		}
		// What the probes, ports and graceful shutdown rely on.
		for _, line := range []string{".:53 {", "health {", "lameduck 5s", "ready", "prometheus :9153", "clusterdns cluster.local in-addr.arpa ip6.arpa {", "reload"} {
			if !hasLine(example, line) {
				t.Errorf("Corefile.example has no line %q", line)
			}
		}
	})

	t.Run("rbac", func(t *testing.T) {
		role := find[*rbacv1.ClusterRole](t, base, "system:coredns")
		wantGrants := []string{
			"/namespaces:list", "/namespaces:watch", "/services:list", "/services:watch",
			"discovery.k8s.io/endpointslices:list", "discovery.k8s.io/endpointslices:watch",
		}
		if g := grants(role.Rules); !slices.Equal(g, wantGrants) {
			t.Errorf("system:coredns grants %v, want exactly %v", g, wantGrants)
		}
		for _, r := range role.Rules {
			if len(r.ResourceNames) > 0 || len(r.NonResourceURLs) > 0 {
				t.Errorf("rule %+v: want plain resource rules", r)
			}
		}
		b := find[*rbacv1.ClusterRoleBinding](t, base, "system:coredns")
		if b.RoleRef.Kind != "ClusterRole" || b.RoleRef.Name != "system:coredns" {
			t.Errorf("binding refers to %+v", b.RoleRef)
		}
		if want := []rbacv1.Subject{{Kind: "ServiceAccount", Name: "coredns", Namespace: "kube-system"}}; !slices.Equal(b.Subjects, want) {
			t.Errorf("binding subjects %+v, want %+v", b.Subjects, want)
		}
		find[*corev1.ServiceAccount](t, base, "coredns")
	})

	t.Run("disruption budget", func(t *testing.T) {
		pdb := find[*policyv1.PodDisruptionBudget](t, base, "coredns")
		if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.MinAvailable != nil {
			t.Errorf("maxUnavailable %v minAvailable %v, want maxUnavailable 1", pdb.Spec.MaxUnavailable, pdb.Spec.MinAvailable)
		}
		if pdb.Spec.Selector == nil || !mapsEqual(pdb.Spec.Selector.MatchLabels, kubeDNS) {
			t.Errorf("selector %v, want %v", pdb.Spec.Selector, kubeDNS)
		}
	})

	// Every overlay but the trial keeps the drop-in: the same Service and
	// the same pods (labels, ports, probes, scheduling, security).
	for _, o := range overlays {
		if o == "canary" {
			continue
		}
		t.Run("overlay "+o+" keeps the drop-in", func(t *testing.T) {
			objs := renderObjects(t, "deploy/overlays/"+o)
			checkDeployment(t, find[*appsv1.Deployment](t, objs, "coredns"))
			svc := find[*corev1.Service](t, objs, "kube-dns")
			if !mapsEqual(svc.Spec.Selector, kubeDNS) || len(svc.Spec.Ports) != 3 {
				t.Errorf("kube-dns Service changed: %+v", svc.Spec)
			}
			find[*rbacv1.ClusterRoleBinding](t, objs, "system:coredns")
		})
	}

	// The overlays that add a line to the clusterdns block, and the grants
	// it needs, to the base.
	podsGrants := []string{
		"/namespaces:list", "/namespaces:watch", "/pods:list", "/pods:watch", "/services:list", "/services:watch",
		"discovery.k8s.io/endpointslices:list", "discovery.k8s.io/endpointslices:watch",
	}
	for _, tc := range []struct {
		overlay, old, new string
		grants            []string
	}{
		{"pods-verified", "pods insecure", "pods verified", podsGrants},
		{"traffic-distribution", "pods insecure\n", "pods insecure\n       traffic_distribution\n", []string{
			"/namespaces:list", "/namespaces:watch", "/nodes:list", "/nodes:watch", "/pods:list", "/pods:watch",
			"/services:list", "/services:watch", "discovery.k8s.io/endpointslices:list", "discovery.k8s.io/endpointslices:watch",
		}},
		{"isolate", "pods insecure\n", "pods insecure\n       isolate {\n          shared kube-system default\n       }\n", podsGrants},
	} {
		t.Run("overlay "+tc.overlay, func(t *testing.T) {
			objs := renderObjects(t, "deploy/overlays/"+tc.overlay)
			corefile := find[*corev1.ConfigMap](t, objs, "coredns").Data["Corefile"]
			example := string(must(os.ReadFile(filepath.Join(repoRoot, "Corefile.example"))))
			if want := strings.Replace(example, tc.old, tc.new, 1); corefile != want {
				t.Errorf("Corefile is not Corefile.example with %q:\n%s", strings.TrimSpace(tc.new), corefile)
			}
			if g := grants(find[*rbacv1.ClusterRole](t, objs, "system:coredns").Rules); !slices.Equal(g, tc.grants) {
				t.Errorf("grants %v, want %v", g, tc.grants)
			}
		})
	}

	t.Run("overlay cluster-domain", func(t *testing.T) {
		objs := renderObjects(t, "deploy/overlays/cluster-domain")
		corefile := find[*corev1.ConfigMap](t, objs, "coredns").Data["Corefile"]
		if strings.Contains(corefile, "cluster.local") || !hasLine(corefile, "clusterdns cluster.example in-addr.arpa ip6.arpa {") ||
			!hasLine(corefile, "disable success cluster.example") || !hasLine(corefile, "disable denial cluster.example") {
			t.Errorf("Corefile does not serve and exempt cluster.example instead of cluster.local:\n%s", corefile)
		}
		if ip := find[*corev1.Service](t, objs, "kube-dns").Spec.ClusterIP; ip == dnsIP || ip == "" {
			t.Errorf("kube-dns clusterIP %q: the overlay should set another", ip)
		}
	})

	t.Run("overlay nodelocaldns", func(t *testing.T) {
		objs := renderObjects(t, "deploy/overlays/nodelocaldns")
		up := find[*corev1.Service](t, objs, "kube-dns-upstream")
		if up.Namespace != "kube-system" || !mapsEqual(up.Spec.Selector, kubeDNS) || up.Spec.ClusterIP != "" {
			t.Errorf("kube-dns-upstream: namespace %q, selector %v, clusterIP %q; want kube-system, %v and any address", up.Namespace, up.Spec.Selector, up.Spec.ClusterIP, kubeDNS)
		}
		var protos []string
		for _, p := range up.Spec.Ports {
			if p.Port == 53 && p.TargetPort.IntValue() == 53 {
				protos = append(protos, string(p.Protocol))
			}
		}
		if !slices.Equal(protos, []string{"UDP", "TCP"}) {
			t.Errorf("kube-dns-upstream ports %+v, want 53 over UDP and TCP", up.Spec.Ports)
		}
	})

	t.Run("overlay autoscaler", func(t *testing.T) {
		objs := renderObjects(t, "deploy/overlays/autoscaler")
		if r := find[*appsv1.Deployment](t, objs, "coredns").Spec.Replicas; r != nil {
			t.Errorf("coredns has replicas %d: the autoscaler owns that field", *r)
		}
		cpa := find[*appsv1.Deployment](t, objs, "kube-dns-autoscaler")
		c := cpa.Spec.Template.Spec.Containers[0]
		args := append(slices.Clone(c.Command), c.Args...)
		for _, a := range []string{"--target=Deployment/coredns", "--namespace=kube-system", "--configmap=kube-dns-autoscaler"} {
			if !slices.Contains(args, a) {
				t.Errorf("autoscaler arguments %v lack %s", args, a)
			}
		}
		if c.Image != "registry.k8s.io/cpa/cluster-proportional-autoscaler:v1.9.0" {
			t.Errorf("autoscaler image %q", c.Image)
		}
		if find[*corev1.ConfigMap](t, objs, "kube-dns-autoscaler").Data["linear"] == "" {
			t.Error("ConfigMap kube-dns-autoscaler has no linear parameters")
		}
		role := find[*rbacv1.Role](t, objs, "kube-dns-autoscaler")
		if g := grants(role.Rules); !slices.Contains(g, "apps/deployments/scale:update") {
			t.Errorf("the autoscaler's Role grants %v: it cannot scale Deployment/coredns", g)
		}
	})

	t.Run("overlay canary", func(t *testing.T) {
		objs := renderObjects(t, "deploy/overlays/canary")
		taken := make(map[string]bool)
		for _, o := range base {
			taken[fmt.Sprintf("%T %s", o, o.(metav1.Object).GetName())] = true
		}
		for _, o := range objs {
			m := o.(metav1.Object)
			if taken[fmt.Sprintf("%T %s", o, m.GetName())] {
				t.Errorf("%T %s has a name of the cluster DNS: deleting the trial would delete it", o, m.GetName())
			}
			if m.GetLabels()["k8s-app"] == "kube-dns" {
				t.Errorf("%T %s is labelled k8s-app: kube-dns", o, m.GetName())
			}
		}
		d := find[*appsv1.Deployment](t, objs, "coredns-canary")
		if d.Spec.Template.Labels["k8s-app"] == "kube-dns" || d.Spec.Selector.MatchLabels["k8s-app"] == "kube-dns" {
			t.Errorf("the trial's pods would join kube-dns: labels %v, selector %v", d.Spec.Template.Labels, d.Spec.Selector)
		}
		if d.Spec.Template.Spec.ServiceAccountName != "coredns-canary" || d.Spec.Template.Spec.Volumes[0].ConfigMap.Name != "coredns-canary" {
			t.Errorf("the trial uses service account %q and ConfigMap %q", d.Spec.Template.Spec.ServiceAccountName, d.Spec.Template.Spec.Volumes[0].ConfigMap.Name)
		}
		svc := find[*corev1.Service](t, objs, "kube-dns-canary")
		if svc.Spec.ClusterIP != "" || svc.Spec.Selector["k8s-app"] != d.Spec.Template.Labels["k8s-app"] {
			t.Errorf("trial Service: clusterIP %q, selector %v", svc.Spec.ClusterIP, svc.Spec.Selector)
		}
	})
}

// checkDeployment checks what the Deployment coredns must keep in every
// variant.
func checkDeployment(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	kubeDNS := map[string]string{"k8s-app": "kube-dns"}
	if d.Namespace != "kube-system" || d.Labels["k8s-app"] != "kube-dns" {
		t.Errorf("namespace %q labels %v", d.Namespace, d.Labels)
	}
	if d.Spec.Selector == nil || !mapsEqual(d.Spec.Selector.MatchLabels, kubeDNS) || len(d.Spec.Selector.MatchExpressions) > 0 {
		t.Errorf("selector %v, want %v (a Deployment's selector cannot change: it must be kubeadm's)", d.Spec.Selector, kubeDNS)
	}
	if d.Spec.Template.Labels["k8s-app"] != "kube-dns" {
		t.Errorf("pod labels %v", d.Spec.Template.Labels)
	}
	if s := d.Spec.Strategy; s.Type != appsv1.RollingUpdateDeploymentStrategyType || s.RollingUpdate == nil || s.RollingUpdate.MaxUnavailable.IntValue() != 1 {
		t.Errorf("strategy %+v, want RollingUpdate with maxUnavailable 1", s)
	}
	p := d.Spec.Template.Spec
	if p.PriorityClassName != "system-cluster-critical" || p.ServiceAccountName != "coredns" || p.DNSPolicy != corev1.DNSDefault {
		t.Errorf("priorityClassName %q serviceAccountName %q dnsPolicy %q", p.PriorityClassName, p.ServiceAccountName, p.DNSPolicy)
	}
	if p.NodeSelector[corev1.LabelOSStable] != "linux" {
		t.Errorf("nodeSelector %v", p.NodeSelector)
	}
	for _, want := range []corev1.Toleration{
		{Key: "CriticalAddonsOnly", Operator: corev1.TolerationOpExists},
		{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule},
	} {
		if !slices.Contains(p.Tolerations, want) {
			t.Errorf("tolerations %+v lack %+v", p.Tolerations, want)
		}
	}
	if a := p.Affinity; a == nil || a.PodAntiAffinity == nil || len(a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) != 1 ||
		a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm.TopologyKey != corev1.LabelHostname ||
		len(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) > 0 {
		t.Errorf("affinity %+v, want one preferred anti-affinity term on %s", a, corev1.LabelHostname)
	} else {
		sel := must(metav1.LabelSelectorAsSelector(a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm.LabelSelector))
		if !sel.Matches(labels.Set(kubeDNS)) {
			t.Errorf("anti-affinity selector %s does not select the DNS pods", sel)
		}
	}
	if p.SecurityContext == nil || p.SecurityContext.SeccompProfile == nil || p.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext %+v, want seccompProfile RuntimeDefault", p.SecurityContext)
	}
	if len(p.Containers) != 1 {
		t.Fatalf("%d containers", len(p.Containers))
	}
	c := p.Containers[0]
	if c.Name != "coredns" || !slices.Equal(c.Args, []string{"-conf", "/etc/coredns/Corefile"}) {
		t.Errorf("container %q args %v", c.Name, c.Args)
	}
	ports := make(map[string]string)
	for _, port := range c.Ports {
		ports[port.Name] = fmt.Sprintf("%d/%s", port.ContainerPort, port.Protocol)
	}
	for name, want := range map[string]string{"dns": "53/UDP", "dns-tcp": "53/TCP", "metrics": "9153/TCP", "liveness-probe": "8080/TCP", "readiness-probe": "8181/TCP"} {
		if ports[name] != want {
			t.Errorf("container port %s is %q, want %s", name, ports[name], want)
		}
	}
	probe := func(what string, pr *corev1.Probe, path, want string) {
		if pr == nil || pr.HTTPGet == nil || pr.HTTPGet.Path != path {
			t.Errorf("%s probe %+v, want GET %s on %s", what, pr, path, want)
			return
		}
		port := ports[pr.HTTPGet.Port.StrVal] // a named port
		if pr.HTTPGet.Port.Type == intstr.Int {
			port = fmt.Sprintf("%d/TCP", pr.HTTPGet.Port.IntVal)
		}
		if port != want {
			t.Errorf("%s probe on port %s (%s), want %s", what, pr.HTTPGet.Port.String(), port, want)
		}
	}
	probe("liveness", c.LivenessProbe, "/health", "8080/TCP")
	probe("readiness", c.ReadinessProbe, "/ready", "8181/TCP")
	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Error("no container securityContext")
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation,
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem,
		sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot,
		sc.RunAsUser == nil || *sc.RunAsUser != 65532,
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || !slices.Equal(sc.Capabilities.Add, []corev1.Capability{"NET_BIND_SERVICE"}):
		t.Errorf("container securityContext %+v, want no privilege escalation, read-only root, non-root 65532, drop ALL, add NET_BIND_SERVICE", sc)
	}
	req, lim := c.Resources.Requests.Memory(), c.Resources.Limits.Memory()
	if req.IsZero() || lim.IsZero() || lim.Cmp(*req) < 0 || c.Resources.Requests.Cpu().IsZero() {
		t.Errorf("resources %+v, want cpu and memory requests and a memory limit above the request", c.Resources)
	}
	if len(p.Volumes) != 1 || p.Volumes[0].ConfigMap == nil || p.Volumes[0].ConfigMap.Name != "coredns" ||
		len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != "/etc/coredns" || c.VolumeMounts[0].Name != p.Volumes[0].Name {
		t.Errorf("volumes %+v mounts %+v, want ConfigMap coredns at /etc/coredns", p.Volumes, c.VolumeMounts)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// hasLine reports whether text has a line that is line once trimmed.
func hasLine(text, line string) bool {
	for _, l := range strings.Split(text, "\n") {
		if strings.TrimSpace(l) == line {
			return true
		}
	}
	return false
}

// The commands of the migration in README.md, run here as written: from a
// directory whose deploy/ is the repository's, with the control plane's
// kubectl first on PATH and the admin's kubeconfig.
const (
	cmdBackup = `kubectl -n kube-system get deployment/coredns configmap/coredns service/kube-dns \
    serviceaccount/coredns clusterrole/system:coredns clusterrolebinding/system:coredns -o yaml \
  | sed '/^ *resourceVersion:/d' > kube-dns-before.yaml`
	cmdDiff         = `kubectl diff --server-side --force-conflicts -k deploy/`
	cmdCanary       = `kubectl apply --server-side -k deploy/overlays/canary`
	cmdCanaryStatus = `kubectl -n kube-system rollout status deployment/coredns-canary`
	cmdSwitch       = `kubectl apply --server-side --force-conflicts -k deploy/`
	cmdStatus       = `kubectl -n kube-system rollout status deployment/coredns`
	cmdRollback     = `kubectl apply --server-side --force-conflicts -f kube-dns-before.yaml`
	cmdCanaryDelete = `kubectl delete -k deploy/overlays/canary`
)

// kubeadmDNS is the cluster DNS of a cluster made by kubeadm v1.37, in the
// fields that matter here, with stock CoreDNS: what a migration starts from.
const kubeadmDNS = `
apiVersion: v1
kind: ServiceAccount
metadata: {name: coredns, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:coredns"}
rules:
- {apiGroups: [""], resources: [endpoints, services, pods, namespaces], verbs: [list, watch]}
- {apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns"}
subjects: [{kind: ServiceAccount, name: coredns, namespace: kube-system}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data:
  Corefile: |
    .:53 {
        errors
        health {
           lameduck 5s
        }
        ready
        kubernetes cluster.local in-addr.arpa ip6.arpa {
           pods insecure
           fallthrough in-addr.arpa ip6.arpa
           ttl 30
        }
        prometheus :9153
        forward . /etc/resolv.conf {
           max_concurrent 1000
        }
        cache 30
        loop
        reload
        loadbalance
    }
---
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: {k8s-app: kube-dns, kubernetes.io/cluster-service: "true", kubernetes.io/name: CoreDNS}
  annotations: {prometheus.io/port: "9153", prometheus.io/scrape: "true"}
spec:
  clusterIP: 10.96.0.10
  selector: {k8s-app: kube-dns}
  ports:
  - {name: dns, port: 53, protocol: UDP, targetPort: 53}
  - {name: dns-tcp, port: 53, protocol: TCP, targetPort: 53}
  - {name: metrics, port: 9153, protocol: TCP, targetPort: 9153}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  replicas: 2
  strategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 1}}
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      priorityClassName: system-cluster-critical
      serviceAccountName: coredns
      dnsPolicy: Default
      nodeSelector: {kubernetes.io/os: linux}
      tolerations:
      - {key: CriticalAddonsOnly, operator: Exists}
      - {key: node-role.kubernetes.io/control-plane, effect: NoSchedule}
      containers:
      - name: coredns
        image: registry.k8s.io/coredns/coredns:v1.14.6
        args: ["-conf", "/etc/coredns/Corefile"]
        resources: {requests: {cpu: 100m, memory: 70Mi}, limits: {memory: 170Mi}}
        ports:
        - {name: dns, containerPort: 53, protocol: UDP}
        - {name: dns-tcp, containerPort: 53, protocol: TCP}
        - {name: metrics, containerPort: 9153, protocol: TCP}
        - {name: liveness-probe, containerPort: 8080, protocol: TCP}
        - {name: readiness-probe, containerPort: 8181, protocol: TCP}
        livenessProbe: {httpGet: {path: /health, port: liveness-probe}, initialDelaySeconds: 60, timeoutSeconds: 5, failureThreshold: 5}
        readinessProbe: {httpGet: {path: /ready, port: readiness-probe}}
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {add: [NET_BIND_SERVICE], drop: [ALL]}
          readOnlyRootFilesystem: true
        volumeMounts: [{name: config-volume, mountPath: /etc/coredns, readOnly: true}]
      volumes:
      - name: config-volume
        configMap: {name: coredns, items: [{key: Corefile, path: Corefile}]}
`

// testDeploy installs deploy/ the way README.md says to switch a kubeadm
// cluster over, on the real API server, controllers and scheduler: the
// manifests are accepted, a trial runs beside the old DNS without taking
// its traffic, the switch keeps the Service and its address and puts the
// new pods behind it, and the rollback puts kubeadm's objects back. It ends
// with deploy/ installed in kube-system, and then checks what the server
// says when its RBAC lacks a permission.
func testDeploy(t *testing.T, ctx context.Context, cs *kubernetes.Clientset) {
	docs := string(must(os.ReadFile(filepath.Join(repoRoot, "README.md")))) + string(must(os.ReadFile(filepath.Join(repoRoot, "deploy", "README.md"))))
	work := t.TempDir()
	if err := os.Symlink(must(filepath.Abs(filepath.Join(repoRoot, "deploy"))), filepath.Join(work, "deploy")); err != nil {
		t.Fatal(err)
	}
	// try runs a shell script there, run one that must succeed, sh one that
	// the READMEs give.
	try := func(script, stdin string) (string, error) {
		ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "sh", "-c", script)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "PATH="+env.bin+":"+os.Getenv("PATH"), "KUBECONFIG="+env.cp.AdminConf)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	run := func(script, stdin string) {
		t.Helper()
		if out, err := try(script, stdin); err != nil {
			t.Fatalf("%s: %v\n%s", script, err, out)
		}
	}
	sh := func(script string) {
		t.Helper()
		if !strings.Contains(oneLine(docs), oneLine(script)) {
			t.Errorf("README.md and deploy/README.md do not give the command\n%s", script)
		}
		run(script, "")
	}

	// Every variant is accepted by the API server as it stands.
	run("kubectl apply --dry-run=server -k deploy/", "")
	run("kubectl apply --server-side --dry-run=server -k deploy/", "")
	for _, o := range overlays {
		run("kubectl apply --server-side --dry-run=server -k deploy/overlays/"+o, "")
	}

	// A kubeadm cluster's DNS: Service, pods, EndpointSlices.
	run("kubectl create --field-manager=kubeadm -f -", kubeadmDNS)
	sh(cmdStatus)
	waitDNSPods(t, ctx, cs, "kube-dns", "k8s-app=kube-dns", stockImage, 2)
	svc := must(cs.CoreV1().Services("kube-system").Get(ctx, "kube-dns", metav1.GetOptions{}))

	// The switch, as README.md gives it: a preview, a backup, a trial that
	// does not take the Service's traffic, then the switch itself. The
	// preview (kubectl diff exits 1 when there are differences) changes the
	// Deployment, the Corefile and the role, adds the disruption budget, and
	// leaves the Service, the ServiceAccount and the binding as kubeadm made
	// them.
	if !strings.Contains(oneLine(docs), oneLine(cmdDiff)) {
		t.Errorf("the READMEs do not give the command\n%s", cmdDiff)
	}
	out, err := try(cmdDiff, "")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("%s: %v\n%s", cmdDiff, err, out)
	}
	var changed []string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "diff" {
			changed = append(changed, filepath.Base(f[len(f)-1]))
		}
	}
	sort.Strings(changed)
	if want := []string{
		"apps.v1.Deployment.kube-system.coredns",
		"policy.v1.PodDisruptionBudget.kube-system.coredns",
		"rbac.authorization.k8s.io.v1.ClusterRole..system:coredns",
		"v1.ConfigMap.kube-system.coredns",
	}; !slices.Equal(changed, want) {
		t.Errorf("%s changes %v, want %v:\n%s", cmdDiff, changed, want, out)
	}
	sh(cmdBackup)
	sh(cmdCanary)
	sh(cmdCanaryStatus)
	waitDNSPods(t, ctx, cs, "kube-dns-canary", "k8s-app=clusterdns-canary", ourImage, 1)
	waitDNSPods(t, ctx, cs, "kube-dns", "k8s-app=kube-dns", stockImage, 2)

	switchOver := func() {
		t.Helper()
		start := time.Now()
		sh(cmdSwitch)
		sh(cmdStatus)
		waitDNSPods(t, ctx, cs, "kube-dns", "k8s-app=kube-dns", ourImage, 2)
		t.Logf("deploy/ applied -> new pods behind kube-dns in %s", time.Since(start).Round(time.Millisecond))
		now := must(cs.CoreV1().Services("kube-system").Get(ctx, "kube-dns", metav1.GetOptions{}))
		if now.UID != svc.UID || now.Spec.ClusterIP != dnsIP {
			t.Errorf("kube-dns is now %s at %s; want the same Service (%s) at %s", now.UID, now.Spec.ClusterIP, svc.UID, dnsIP)
		}
		if c := must(cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "coredns", metav1.GetOptions{})).Data["Corefile"]; !hasLine(c, "clusterdns cluster.local in-addr.arpa ip6.arpa {") {
			t.Errorf("ConfigMap coredns after the switch:\n%s", c)
		}
		role := must(cs.RbacV1().ClusterRoles().Get(ctx, "system:coredns", metav1.GetOptions{}))
		if want := must(shippedClusterRole()); !slices.Equal(grants(role.Rules), grants(want.Rules)) {
			t.Errorf("system:coredns grants %v after the switch, want %v", grants(role.Rules), grants(want.Rules))
		}
	}
	switchOver()

	// The rollback puts kubeadm's Deployment, Corefile and role back.
	start := time.Now()
	sh(cmdRollback)
	sh(cmdStatus)
	waitDNSPods(t, ctx, cs, "kube-dns", "k8s-app=kube-dns", stockImage, 2)
	t.Logf("rollback applied -> stock pods behind kube-dns in %s", time.Since(start).Round(time.Millisecond))
	if c := must(cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "coredns", metav1.GetOptions{})).Data["Corefile"]; !hasLine(c, "kubernetes cluster.local in-addr.arpa ip6.arpa {") {
		t.Errorf("ConfigMap coredns after the rollback:\n%s", c)
	}
	d := must(cs.AppsV1().Deployments("kube-system").Get(ctx, "coredns", metav1.GetOptions{}))
	if c := d.Spec.Template.Spec.Containers[0]; len(c.Env) > 0 || c.SecurityContext.RunAsUser != nil || c.Resources.Limits.Memory().String() != "170Mi" {
		t.Errorf("the rollback left fields of deploy/ in the Deployment: env %v, runAsUser %v, limits %v", c.Env, c.SecurityContext.RunAsUser, c.Resources.Limits)
	}
	if g := grants(must(cs.RbacV1().ClusterRoles().Get(ctx, "system:coredns", metav1.GetOptions{})).Rules); !slices.Contains(g, "/pods:list") {
		t.Errorf("system:coredns grants %v after the rollback, want kubeadm's rules", g)
	}

	// Forward again, and the trial goes; the cluster DNS stays.
	switchOver()
	sh(cmdCanaryDelete)
	run("kubectl -n kube-system get service/kube-dns deployment/coredns configmap/coredns serviceaccount/coredns "+
		"clusterrole/system:coredns clusterrolebinding/system:coredns poddisruptionbudget/coredns", "")
	waitDNSPods(t, ctx, cs, "kube-dns", "k8s-app=kube-dns", ourImage, 2)

	// Manifests with another address for kube-dns are refused for that
	// Service, which stays as it is (deploy/README.md, "Before you apply").
	if out, err := try("kubectl apply --server-side --force-conflicts --dry-run=server -k deploy/overlays/cluster-domain", ""); err == nil || !strings.Contains(out, "may not change once set") {
		t.Errorf("applying another clusterIP for kube-dns: %v\n%s", err, out)
	}

	t.Run("a missing permission is named", func(t *testing.T) { testRefused(t, ctx, cs) })
}

// oneLine joins continued lines and collapses white space, so that a
// command matches however it is wrapped.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\\\n", " ")), " ")
}

// waitDNSPods waits until the Running, ready pods matching selector in
// kube-system are want of them, all with image, and the service's
// EndpointSlices list exactly their IPv4 addresses, ready, on the DNS ports.
func waitDNSPods(t *testing.T, ctx context.Context, cs kubernetes.Interface, service, selector, image string, want int) {
	t.Helper()
	var state string
	ok := func() bool {
		pods, err := cs.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			state = err.Error()
			return false
		}
		var podIPs, images []string
		for _, p := range pods.Items {
			images = append(images, p.Name+"="+p.Spec.Containers[0].Image+"/"+string(p.Status.Phase))
			if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning || !podReady(p) {
				continue
			}
			if p.Spec.Containers[0].Image != image || p.Spec.NodeName == "" {
				state = "pods " + strings.Join(images, " ")
				return false
			}
			for _, ip := range p.Status.PodIPs {
				if !strings.Contains(ip.IP, ":") {
					podIPs = append(podIPs, ip.IP)
				}
			}
		}
		slices.Sort(podIPs)
		list, err := cs.DiscoveryV1().EndpointSlices("kube-system").List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + service})
		if err != nil {
			state = err.Error()
			return false
		}
		var ready, ports []string
		for _, s := range list.Items {
			for _, e := range s.Endpoints {
				if e.Conditions.Ready != nil && *e.Conditions.Ready {
					ready = append(ready, e.Addresses...)
				}
			}
			for _, p := range s.Ports {
				ports = append(ports, fmt.Sprintf("%s %d/%s", deref(p.Name), deref(p.Port), deref(p.Protocol)))
			}
		}
		slices.Sort(ready)
		slices.Sort(ports)
		ports = slices.Compact(ports)
		state = fmt.Sprintf("pods %s; running and ready: %v; %s's slices: ready %v, ports %v", strings.Join(images, " "), podIPs, service, ready, ports)
		return len(podIPs) == want && slices.Equal(ready, podIPs) &&
			slices.Equal(ports, []string{"dns 53/UDP", "dns-tcp 53/TCP", "metrics 9153/TCP"})
	}
	deadline := time.Now().Add(2 * time.Minute)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: want %d ready pods of %s behind it; %s", service, want, image, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// refusedLine is the start of what clusterdns logs when the API server
// refuses one of its requests.
const refusedLine = "the Kubernetes API refused a request:"

// testRefused runs a DNS server whose user holds the shipped ClusterRole
// without its endpointslices rule: the server must say in its log which
// request was refused, and never become ready.
func testRefused(t *testing.T, ctx context.Context, cs *kubernetes.Clientset) {
	const (
		user = "clusterdns-noslices"
		addr = "127.0.0.5"
	)
	role := must(shippedClusterRole()).DeepCopy()
	role.ObjectMeta = metav1.ObjectMeta{Name: user}
	role.Rules = slices.DeleteFunc(role.Rules, func(r rbacv1.PolicyRule) bool { return slices.Contains(r.Resources, "endpointslices") })
	if g := grants(role.Rules); len(g) == 0 || slices.ContainsFunc(g, func(s string) bool { return strings.Contains(s, "endpointslices") }) {
		t.Fatalf("the role without endpointslices grants %v", g)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: user},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: user}},
	}
	must(cs.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}))
	must(cs.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}))
	defer func() {
		_ = cs.RbacV1().ClusterRoleBindings().Delete(ctx, user, metav1.DeleteOptions{})
		_ = cs.RbacV1().ClusterRoles().Delete(ctx, user, metav1.DeleteOptions{})
	}()

	kubeconfig := env.cp.Path(user + ".kubeconfig")
	if err := env.cp.WriteKubeconfig(kubeconfig, noSlicesToken); err != nil {
		t.Fatal(err)
	}
	readyPort := must(controlplane.FreePort())
	corefile := env.cp.Path(user + ".Corefile")
	conf := fmt.Sprintf(".:53 {\n    bind %s\n    ready 127.0.0.1:%d\n    clusterdns cluster.local {\n        kubeconfig %s\n        startup_timeout 1s\n    }\n}\n", addr, readyPort, kubeconfig)
	if err := os.WriteFile(corefile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := env.cp.Start(user, env.coredns, os.Environ(), "-conf", corefile); err != nil {
		t.Fatal(err)
	}
	defer env.cp.Stop(user)
	logFile := env.cp.Path(user + ".log")

	var refused []string
	waitFor(t, "the server to log the refused list of endpointslices", 30*time.Second, func() bool {
		refused = nil
		for _, line := range strings.Split(string(must(os.ReadFile(logFile))), "\n") {
			if i := strings.Index(line, refusedLine); i >= 0 {
				refused = append(refused, line[i:])
			}
		}
		return slices.ContainsFunc(refused, func(l string) bool { return refusedResource.FindStringSubmatch(l) != nil })
	})
	for _, l := range refused {
		m := refusedResource.FindStringSubmatch(l)
		if m == nil || m[1] != "endpointslices" || !strings.Contains(l, `"`+user+`"`) {
			t.Errorf("refusal that does not name endpointslices and the user: %s", l)
		}
		if !strings.Contains(l, "clusterdns needs list and watch on services, endpointslices and namespaces") {
			t.Errorf("refusal without what clusterdns needs: %s", l)
		}
	}
	t.Logf("the server logged: %s", refused[0])
	// Still not ready, and cluster names are SERVFAIL, never NXDOMAIN.
	for range 10 {
		if ready(readyPort) {
			t.Fatal("/ready answers 200 without endpointslices")
		}
		time.Sleep(200 * time.Millisecond)
	}
	var a answer
	waitFor(t, "the server to answer", 10*time.Second, func() bool {
		var err error
		a, err = query(addr, "udp", "kubernetes.default.svc.cluster.local.", dns.TypeA)
		return err == nil
	})
	if a.rcode != dns.RcodeServerFailure {
		t.Errorf("without endpointslices, kubernetes.default: %v; want SERVFAIL", a)
	}
}

// refusedResource finds the resource the API server refused in a refusal
// line, before the part that says what clusterdns needs.
var refusedResource = regexp.MustCompile(`^` + regexp.QuoteMeta(refusedLine) + `[^;]*cannot (?:list|watch) resource "([a-z]+)"`)
