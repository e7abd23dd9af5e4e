//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/clusterdns/clusterdns/test/controlplane"
)

const nodeName = "kwok-node-0"

// dnsRole is the name of the DNS server's ClusterRole and of its binding to
// the user clusterdns.
const dnsRole = "clusterdns-e2e"

// dnsClusterRole is what the DNS server may do: exactly what the ClusterRole
// of the deploy manifests (system:coredns) allows, so that the suite fails
// if that role lacks something clusterdns needs. It is a copy under a name
// of its own: testDeploy installs, replaces and rolls back system:coredns.
func dnsClusterRole() (*rbacv1.ClusterRole, error) {
	shipped, err := shippedClusterRole()
	if err != nil {
		return nil, err
	}
	return &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: dnsRole}, Rules: shipped.Rules}, nil
}

// seed creates what a cluster has before workloads: the DNS server's RBAC,
// a kwok node with dual-stack pod CIDRs, and the test namespaces.
func seed(ctx context.Context) error {
	cs, err := env.cp.AdminClient()
	if err != nil {
		return err
	}
	if err := seedRBAC(ctx, cs); err != nil {
		return err
	}
	// The labels a kubelet sets, which the DNS Deployment's node selector
	// and anti-affinity use; no taints.
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: nodeName, Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"}, Labels: map[string]string{
			"type": "kwok", corev1.LabelOSStable: "linux", corev1.LabelArchStable: "amd64", corev1.LabelHostname: nodeName,
		}},
		Spec: corev1.NodeSpec{PodCIDR: "10.244.1.0/24", PodCIDRs: []string{"10.244.1.0/24", "fd00:10:244:1::/64"}},
	}
	if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	for _, ns := range []string{"prod", "staging"} {
		if err := ensureNamespace(ctx, cs, ns); err != nil {
			return err
		}
	}
	// Pods can only be created once the service account controller has
	// made the namespace's default service account.
	for _, ns := range []string{"prod", "staging"} {
		deadline := time.Now().Add(60 * time.Second)
		for {
			_, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("no default service account in %s: %w; kube-controller-manager log:\n%s", ns, err, controlplane.Tail(env.cp.Path("kube-controller-manager.log")))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

func seedRBAC(ctx context.Context, cs kubernetes.Interface) error {
	role, err := dnsClusterRole()
	if err != nil {
		return err
	}
	// The API server creates its bootstrap RBAC shortly after it is ready.
	for range 100 {
		_, err = cs.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{})
		if err == nil || apierrors.IsAlreadyExists(err) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: dnsRole},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: dnsRole},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: "clusterdns"}},
	}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

func ensureNamespace(ctx context.Context, cs kubernetes.Interface, name string) error {
	_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

var (
	requireDual = corev1.IPFamilyPolicyRequireDualStack
	singleStack = corev1.IPFamilyPolicySingleStack
)

// service builds a Service selecting app=<name>.
func service(ns, name string, headless bool, policy *corev1.IPFamilyPolicy, ports ...corev1.ServicePort) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{
			Selector:       map[string]string{"app": name},
			Ports:          ports,
			IPFamilyPolicy: policy,
		},
	}
	if headless {
		s.Spec.ClusterIP = corev1.ClusterIPNone
	}
	return s
}

func port(name string, proto corev1.Protocol, p int32) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Protocol: proto, Port: p, TargetPort: intstr.FromInt32(p)}
}

// podSpec is a pod bound to the kwok node; kwok marks it running and ready
// and gives it addresses from the node's pod CIDRs.
func podSpec() corev1.PodSpec {
	return corev1.PodSpec{
		NodeName:                      nodeName,
		Containers:                    []corev1.Container{{Name: "app", Image: "registry.invalid/app:1"}},
		AutomountServiceAccountToken:  new(false),
		TerminationGracePeriodSeconds: new(int64(0)),
	}
}

func deployment(ns, name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: podSpec()},
		},
	}
}

// pod is a pod of app=<app> with an optional hostname and subdomain, as a
// StatefulSet makes them.
func pod(ns, name, app, hostname, subdomain string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": app}}, Spec: podSpec()}
	p.Spec.Hostname, p.Spec.Subdomain = hostname, subdomain
	return p
}

// manualSlice is an EndpointSlice written by hand for a selector-less Service.
func manualSlice(ns, svc, name string, ips ...string) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{
			discoveryv1.LabelServiceName: svc, discoveryv1.LabelManagedBy: "e2e.clusterdns",
		}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: new("api"), Protocol: new(corev1.ProtocolTCP), Port: new(int32(9000))}},
	}
	for _, ip := range ips {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: new(true)}})
	}
	return s
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprintf("e2e: %v", err))
	}
	return v
}
