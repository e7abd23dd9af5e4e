//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
)

// apiServiceHost and apiServicePort are the API server's Service address as
// the container sees it in its network namespace: a relay to the suite's API
// server.
const (
	apiServiceHost = "127.0.0.1"
	apiServicePort = "443"
)

// TestImageUnderRunc builds the image as `make image` does, twice, and
// runs it under runc with the container settings of the Deployment that
// deploy/ renders, in a network namespace of its own whose only way out is
// a relay to the suite's API server, with a service account token from the
// TokenRequest API and nothing but the shipped ClusterRole.
func TestImageUnderRunc(t *testing.T) {
	if _, err := exec.LookPath("runc"); err != nil {
		t.Fatal("runc is missing: apt-get install runc (test/e2e/run.sh installs it)")
	}
	ctx := context.Background()
	cs := must(env.cp.AdminClient())
	dir := t.TempDir()

	var digests []string
	for i := range 2 {
		layout := filepath.Join(dir, "image-"+strconv.Itoa(i))
		digest, err := buildImage(layout)
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, digest)
	}
	layout := filepath.Join(dir, "image-0")
	t.Logf("image %s, %.1f MB", digests[0], float64(dirSize(t, layout))/1e6)
	if digests[0] != digests[1] {
		t.Errorf("two builds of the same tree gave %s and %s", digests[0], digests[1])
	}

	rootfs, img, err := unpackImage(layout, filepath.Join(dir, "unpacked"))
	if err != nil {
		t.Fatal(err)
	}
	objs := renderObjects(t, "deploy")
	d := find[*appsv1.Deployment](t, objs, "coredns")
	cm := find[*corev1.ConfigMap](t, objs, "coredns")
	t.Run("content", func(t *testing.T) { checkImageContent(t, rootfs, img, d) })

	installShippedRBAC(t, ctx, cs, objs)
	ns := newNetns(t, dir)
	ns.relay(t, apiServiceHost+":"+apiServicePort, fmt.Sprintf("127.0.0.1:%d", env.cp.APIPort))
	n := node{
		netns:          ns.path,
		resolvConf:     nodeResolvConf(t, dir),
		serviceAccount: serviceAccountVolume(t, ctx, cs, d, dir),
		serviceEnv:     map[string]string{"KUBERNETES_SERVICE_HOST": apiServiceHost, "KUBERNETES_SERVICE_PORT": apiServicePort},
		volumes:        filepath.Join(dir, "volumes"),
	}
	rt := runc{root: filepath.Join(dir, "runc")}
	bundle := func(t *testing.T, d *appsv1.Deployment, rootfs string) string {
		t.Helper()
		b := filepath.Join(dir, "bundle-"+strings.NewReplacer(" ", "-", "/", "-").Replace(t.Name()))
		if err := os.MkdirAll(b, 0o755); err != nil {
			t.Fatal(err)
		}
		spec, err := containerSpec(must(rt.baseSpec(b)), d, []*corev1.ConfigMap{cm}, img, rootfs, n)
		if err != nil {
			t.Fatal(err)
		}
		if err := writeSpec(b, spec); err != nil {
			t.Fatal(err)
		}
		return b
	}

	t.Run("serves with the Deployment's settings", func(t *testing.T) {
		testServesUnderRunc(t, ctx, cs, rt, bundle(t, d, rootfs), d, ns)
	})

	// Without NET_BIND_SERVICE in the bounding set, the kernel refuses to
	// execute a file whose capability it cannot grant: the container never
	// starts, and the runtime says why (the kubelet reports it as the
	// container's start error).
	t.Run("without NET_BIND_SERVICE", func(t *testing.T) {
		noCap := d.DeepCopy()
		sc := noCap.Spec.Template.Spec.Containers[0].SecurityContext
		sc.Capabilities.Add = slices.DeleteFunc(sc.Capabilities.Add, func(c corev1.Capability) bool { return c == "NET_BIND_SERVICE" })
		out, err := rt.run("clusterdns-e2e-nocap", bundle(t, noCap, rootfs), 30*time.Second)
		t.Logf("runc run: %v\n%s", err, out)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || !regexp.MustCompile(`exec.*/coredns.*operation not permitted`).MatchString(out) {
			t.Errorf("without NET_BIND_SERVICE: %v; want a failed start that says exec /coredns: operation not permitted", err)
		}
	})

	// A runtime or unpacker that drops the layer's extended attributes
	// leaves a binary without its capability: it starts, and must say that
	// it cannot bind port 53 and exit, not run without serving.
	t.Run("without the file capability", func(t *testing.T) {
		bare, _, err := unpackImage(layout, filepath.Join(dir, "unpacked-bare"))
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Removexattr(filepath.Join(bare, "coredns"), "security.capability"); err != nil {
			t.Fatal(err)
		}
		out, err := rt.run("clusterdns-e2e-bare", bundle(t, d, bare), 30*time.Second)
		t.Logf("runc run: %v\n%s", err, out)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || !regexp.MustCompile(`listen (tcp|udp) :53: bind: permission denied`).MatchString(out) {
			t.Errorf("without the file capability: %v; want an exit that says listen ... :53: bind: permission denied", err)
		}
	})
}

// checkImageContent checks the unpacked image as a runtime sees it: the
// capability on /coredns as getcap reads it, the user the image and the
// Deployment name, and no shell or other executable.
func checkImageContent(t *testing.T, rootfs string, img imageConfig, d *appsv1.Deployment) {
	out, err := exec.Command("getcap", filepath.Join(rootfs, "coredns")).CombinedOutput()
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), " cap_net_bind_service=ep") {
		t.Errorf("getcap /coredns: %q (%v), want cap_net_bind_service=ep", out, err)
	}
	sc := d.Spec.Template.Spec.Containers[0].SecurityContext
	if want := fmt.Sprintf("%d:%d", deref(sc.RunAsUser), deref(sc.RunAsGroup)); img.Config.User != want {
		t.Errorf("image user %q, want the Deployment's %s", img.Config.User, want)
	}
	for file, line := range map[string]string{
		"etc/passwd": fmt.Sprintf("nonroot:x:%d:%d:", deref(sc.RunAsUser), deref(sc.RunAsGroup)),
		"etc/group":  fmt.Sprintf("nonroot:x:%d:", deref(sc.RunAsGroup)),
	} {
		if b, err := os.ReadFile(filepath.Join(rootfs, file)); err != nil || !strings.Contains(string(b), "\n"+line) {
			t.Errorf("/%s (%v) has no line starting %q:\n%s", file, err, line, b)
		}
	}
	var executables []string
	err = filepath.WalkDir(rootfs, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if info, err := e.Info(); err == nil && !e.IsDir() && info.Mode()&0o111 != 0 {
			executables = append(executables, must(filepath.Rel(rootfs, path)))
		}
		return err
	})
	if err != nil || !slices.Equal(executables, []string{"coredns"}) {
		t.Errorf("executables in the image %v (%v), want only coredns", executables, err)
	}
	if _, err := os.Lstat(filepath.Join(rootfs, "bin", "sh")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("/bin/sh: %v, want none", err)
	}
}

// installShippedRBAC creates deploy/'s ServiceAccount, ClusterRole and
// ClusterRoleBinding where they are missing (the deploy stage of
// TestEndToEnd leaves them installed), and removes what it created.
func installShippedRBAC(t *testing.T, ctx context.Context, cs kubernetes.Interface, objs []runtime.Object) {
	t.Helper()
	for _, o := range objs {
		var err error
		var remove func() error
		switch v := o.(type) {
		case *corev1.ServiceAccount:
			_, err = cs.CoreV1().ServiceAccounts(v.Namespace).Create(ctx, v, metav1.CreateOptions{})
			remove = func() error {
				return cs.CoreV1().ServiceAccounts(v.Namespace).Delete(ctx, v.Name, metav1.DeleteOptions{})
			}
		case *rbacv1.ClusterRole:
			_, err = cs.RbacV1().ClusterRoles().Create(ctx, v, metav1.CreateOptions{})
			remove = func() error { return cs.RbacV1().ClusterRoles().Delete(ctx, v.Name, metav1.DeleteOptions{}) }
			if apierrors.IsAlreadyExists(err) {
				// Whatever an earlier stage left, the container gets what
				// deploy/ ships.
				cur := must(cs.RbacV1().ClusterRoles().Get(ctx, v.Name, metav1.GetOptions{}))
				cur.Rules = v.Rules
				_, err = cs.RbacV1().ClusterRoles().Update(ctx, cur, metav1.UpdateOptions{})
				remove = nil
			}
		case *rbacv1.ClusterRoleBinding:
			_, err = cs.RbacV1().ClusterRoleBindings().Create(ctx, v, metav1.CreateOptions{})
			remove = func() error { return cs.RbacV1().ClusterRoleBindings().Delete(ctx, v.Name, metav1.DeleteOptions{}) }
		default:
			continue
		}
		switch {
		case apierrors.IsAlreadyExists(err):
		case err != nil:
			t.Fatal(err)
		case remove != nil:
			t.Cleanup(func() { _ = remove() })
		}
	}
}

// serviceAccountVolume writes what the kubelet projects at
// /var/run/secrets/kubernetes.io/serviceaccount for the Deployment's
// ServiceAccount: a token from the TokenRequest API, the cluster's CA from
// the ConfigMap kube-root-ca.crt, and the namespace.
func serviceAccountVolume(t *testing.T, ctx context.Context, cs kubernetes.Interface, d *appsv1.Deployment, dir string) string {
	t.Helper()
	sa := d.Spec.Template.Spec.ServiceAccountName
	expiry := int64(3600)
	tr, err := cs.CoreV1().ServiceAccounts(d.Namespace).CreateToken(ctx, sa,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenRequest for %s/%s: %v", d.Namespace, sa, err)
	}
	var ca string
	waitFor(t, "ConfigMap kube-root-ca.crt in "+d.Namespace, 30*time.Second, func() bool {
		cm, err := cs.CoreV1().ConfigMaps(d.Namespace).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
		if err == nil {
			ca = cm.Data["ca.crt"]
		}
		return ca != ""
	})
	vol := filepath.Join(dir, "serviceaccount")
	if err := os.MkdirAll(vol, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"token": tr.Status.Token, "ca.crt": ca, "namespace": d.Namespace} {
		if err := os.WriteFile(filepath.Join(vol, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return vol
}

// nodeResolvConf is the node's resolv.conf that dnsPolicy: Default gives the
// pod: a nameserver the namespace cannot reach (TEST-NET-1, RFC 5737), so
// that forward fails at once and loop sees no loop.
func nodeResolvConf(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "resolv.conf")
	if err := os.WriteFile(path, []byte("nameserver 192.0.2.53\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// probeURL is where the kubelet sends an HTTP probe of the container: its
// path on the pod's address (here the namespace's loopback), the port
// resolved by name among the container's ports.
func probeURL(t *testing.T, c corev1.Container, p *corev1.Probe) string {
	t.Helper()
	if p == nil || p.HTTPGet == nil {
		t.Fatalf("container %s: want HTTP probes", c.Name)
	}
	port := p.HTTPGet.Port.IntValue()
	if p.HTTPGet.Port.Type == intstr.String {
		i := slices.IndexFunc(c.Ports, func(cp corev1.ContainerPort) bool { return cp.Name == p.HTTPGet.Port.StrVal })
		if i < 0 {
			t.Fatalf("probe port %s is not a port of the container", p.HTTPGet.Port.StrVal)
		}
		port = int(c.Ports[i].ContainerPort)
	}
	scheme := strings.ToLower(string(p.HTTPGet.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	return fmt.Sprintf("%s://127.0.0.1:%d%s", scheme, port, p.HTTPGet.Path)
}

// dirSize is the size of the files under dir.
func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var size int64
	err := filepath.WalkDir(dir, func(_ string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		info, err := e.Info()
		size += info.Size()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return size
}

// httpStatus is the status of a GET from inside the namespace, or 0.
func httpStatus(client *http.Client, url string) int {
	resp, err := client.Get(url)
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}
