//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// testServesUnderRunc starts the container and checks what the Deployment
// promises: its probes pass, it serves DNS on port 53 as the non-root user
// with NET_BIND_SERVICE only, no_new_privs, the runtime's default seccomp
// filter and a read-only root, with GOMEMLIMIT from its memory limit, and
// it answers for Services with nothing but the shipped ClusterRole. It
// logs how long the container took from start to ready.
func testServesUnderRunc(t *testing.T, ctx context.Context, cs kubernetes.Interface, rt runc, bundle string, d *appsv1.Deployment, ns *netns) {
	c := d.Spec.Template.Spec.Containers[0]
	readyURL, liveURL := probeURL(t, c, c.ReadinessProbe), probeURL(t, c, c.LivenessProbe)
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DialContext: ns.dial}}
	const id = "clusterdns-e2e"
	logPath := filepath.Join(bundle, "container.log")

	start := time.Now()
	if err := rt.start(id, bundle, logPath); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.delete(id) })
	started := time.Since(start)
	waitFor(t, "the readiness probe "+readyURL, 60*time.Second, func() bool {
		if st, err := rt.state(id); err != nil || st.Status != "running" {
			t.Fatalf("the container is %+v (%v):\n%s", st, err, readFile(logPath))
		}
		return httpStatus(client, readyURL) == http.StatusOK
	})
	t.Logf("container start to ready: %s (runc run returned after %s)", time.Since(start).Round(time.Millisecond), started.Round(time.Millisecond))
	if s := httpStatus(client, liveURL); s != http.StatusOK {
		t.Errorf("liveness probe %s: %d, want 200", liveURL, s)
	}

	pid := must(rt.state(id)).Pid
	sc := c.SecurityContext
	uid, gid := deref(sc.RunAsUser), deref(sc.RunAsGroup)
	t.Run("process", func(t *testing.T) {
		status := must(procStatus(pid))
		const netBindService = "0000000000000400" // 1 << CAP_NET_BIND_SERVICE
		for k, want := range map[string]string{
			"Uid":        fmt.Sprintf("%d %d %d %d", uid, uid, uid, uid),
			"Gid":        fmt.Sprintf("%d %d %d %d", gid, gid, gid, gid),
			"CapEff":     netBindService,
			"CapPrm":     netBindService,
			"CapBnd":     netBindService,
			"CapInh":     "0000000000000000",
			"CapAmb":     "0000000000000000",
			"NoNewPrivs": "1",
			"Seccomp":    "2", // a filter
		} {
			if status[k] != want {
				t.Errorf("/proc/%d/status %s: %q, want %q", pid, k, status[k], want)
			}
		}
		for _, proto := range []string{"tcp", "udp"} {
			if owners := portOwners(t, pid, proto, 53); !slices.Equal(owners, []int64{uid}) {
				t.Errorf("%s port 53 is bound by uids %v, want only %d", proto, owners, uid)
			}
		}
		if root := rootMountOptions(t, pid); !slices.Contains(root, "ro") {
			t.Errorf("the root file system is mounted %v, want ro", root)
		}
		if limit, want := memoryLimit(t, pid), c.Resources.Limits.Memory().Value(); limit != want {
			t.Errorf("memory cgroup limit %d, want the Deployment's %d", limit, want)
		}
		// The Deployment sets GOMEMLIMIT from the memory limit: the bytes.
		want := "GOMEMLIMIT=" + strconv.FormatInt(c.Resources.Limits.Memory().Value(), 10)
		if environ := strings.Split(readFile(fmt.Sprintf("/proc/%d/environ", pid)), "\x00"); !slices.Contains(environ, want) {
			t.Errorf("environment %q, want %s", environ, want)
		}
	})

	t.Run("answers", func(t *testing.T) {
		kube := must(cs.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{}))
		for _, transport := range []string{"+notcp", "+tcp"} {
			if got := digIn(ns, transport, "kubernetes.default.svc.cluster.local", "A"); got != kube.Spec.ClusterIP {
				t.Errorf("dig %s kubernetes.default: %q, want %s", transport, got, kube.Spec.ClusterIP)
			}
		}
		// A Service made now shows up: the watch works, not only the list.
		svc := must(cs.CoreV1().Services("default").Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "runc-check"},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{port80()}},
		}, metav1.CreateOptions{}))
		defer func() { _ = cs.CoreV1().Services("default").Delete(ctx, svc.Name, metav1.DeleteOptions{}) }()
		waitFor(t, "runc-check.default in the container's answers", 20*time.Second, func() bool {
			return digIn(ns, "+notcp", "runc-check.default.svc.cluster.local", "A") == svc.Spec.ClusterIP
		})
	})

	t.Run("the shipped ClusterRole is enough", func(t *testing.T) {
		subject := fmt.Sprintf("system:serviceaccount:%s:%s", d.Namespace, d.Spec.Template.Spec.ServiceAccountName)
		if roles := rolesOf(t, ctx, cs, d.Namespace, d.Spec.Template.Spec.ServiceAccountName); !slices.Equal(roles, []string{"ClusterRole/system:coredns"}) {
			t.Errorf("%s is bound to %v, want only ClusterRole/system:coredns", subject, roles)
		}
		role := must(cs.RbacV1().ClusterRoles().Get(ctx, "system:coredns", metav1.GetOptions{}))
		if want := must(shippedClusterRole()); !slices.Equal(grants(role.Rules), grants(want.Rules)) {
			t.Errorf("system:coredns grants %v, want deploy/'s %v", grants(role.Rules), grants(want.Rules))
		}
		log := readFile(logPath)
		if strings.Contains(log, refusedLine) || !strings.Contains(log, "plugin/clusterdns: synced") {
			t.Errorf("the container's log has a refusal or no sync:\n%s", log)
		}
	})

	// SIGTERM, as the kubelet stops a container: the server leaves after
	// its lameduck, within the pod's grace period.
	grace := time.Duration(deref(d.Spec.Template.Spec.TerminationGracePeriodSeconds)) * time.Second
	stop := time.Now()
	if err := rt.kill(id, "TERM"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the container to stop after SIGTERM", grace, func() bool {
		st, err := rt.state(id)
		return err == nil && st.Status == "stopped"
	})
	t.Logf("stopped %s after SIGTERM (grace period %s)", time.Since(stop).Round(time.Millisecond), grace)
}

// digIn asks the server on the namespace's loopback with dig and returns
// its short answer.
func digIn(ns *netns, args ...string) string {
	out, err := exec.Command("nsenter", append([]string{"--net=" + ns.path, "dig", "@127.0.0.1", "+short", "+time=2", "+tries=1"}, args...)...).Output()
	if err != nil {
		return "error: " + err.Error()
	}
	return strings.TrimSpace(string(out))
}

// rolesOf lists the roles bound to a ServiceAccount, by itself, as
// "Kind/name".
func rolesOf(t *testing.T, ctx context.Context, cs kubernetes.Interface, namespace, name string) []string {
	t.Helper()
	isIt := func(s []rbacv1.Subject) bool {
		return slices.ContainsFunc(s, func(s rbacv1.Subject) bool {
			return s.Kind == "ServiceAccount" && s.Namespace == namespace && s.Name == name
		})
	}
	var roles []string
	for _, b := range must(cs.RbacV1().ClusterRoleBindings().List(ctx, metav1.ListOptions{})).Items {
		if isIt(b.Subjects) {
			roles = append(roles, b.RoleRef.Kind+"/"+b.RoleRef.Name)
		}
	}
	for _, b := range must(cs.RbacV1().RoleBindings("").List(ctx, metav1.ListOptions{})).Items {
		if isIt(b.Subjects) {
			roles = append(roles, b.RoleRef.Kind+"/"+b.RoleRef.Name)
		}
	}
	slices.Sort(roles)
	return roles
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}
