//go:build e2e

package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/mcs-api/config/crd"
	mcsv1alpha1 "sigs.k8s.io/mcs-api/pkg/apis/v1alpha1"
	mcsclient "sigs.k8s.io/mcs-api/pkg/client/clientset/versioned"
	"sigs.k8s.io/yaml"
)

// multiclusterUser is the ClusterRole that adds what `multicluster` needs
// to the DNS user's, for this step only: deploy/ does not grant it.
const multiclusterUser = "clusterdns-e2e-serviceimports"

// testMulticluster installs the ServiceImport CRD the mcs-api module ships,
// creates imports and the slices an MCS implementation would derive for
// them, and queries a server with `multicluster clusterset.local`.
func testMulticluster(t *testing.T, ctx context.Context, cs *kubernetes.Clientset) {
	rc := env.cp.AdminConfig()
	installServiceImportCRD(t, ctx, dynamic.NewForConfigOrDie(rc))
	mcs := mcsclient.NewForConfigOrDie(rc).MulticlusterV1alpha1()
	waitFor(t, "the ServiceImport API served", 30*time.Second, func() bool {
		_, err := mcs.ServiceImports(featuresNS).List(ctx, metav1.ListOptions{})
		return err == nil
	})
	grantDNSUser(t, ctx, cs, multiclusterUser, mcsv1alpha1.GroupName, "serviceimports")
	if err := ensureNamespace(ctx, cs, featuresNS); err != nil {
		t.Fatal(err)
	}

	imports := []*mcsv1alpha1.ServiceImport{
		{ObjectMeta: metav1.ObjectMeta{Namespace: featuresNS, Name: "mc-web"}, Spec: mcsv1alpha1.ServiceImportSpec{
			Type: mcsv1alpha1.ClusterSetIP, IPs: []string{"10.100.0.10"},
			Ports: []mcsv1alpha1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80}},
		}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: featuresNS, Name: "mc-db"}, Spec: mcsv1alpha1.ServiceImportSpec{
			Type:  mcsv1alpha1.Headless,
			Ports: []mcsv1alpha1.ServicePort{{Name: "pg", Protocol: corev1.ProtocolTCP, Port: 5432}},
		}},
	}
	for _, si := range imports {
		must(mcs.ServiceImports(featuresNS).Create(ctx, si, metav1.CreateOptions{}))
	}
	derived := []*discoveryv1.EndpointSlice{
		importedSlice("mc-db", "east", "10.250.1.1"),
		importedSlice("mc-db", "west", "10.250.2.1"),
	}
	for _, s := range derived {
		must(cs.DiscoveryV1().EndpointSlices(featuresNS).Create(ctx, s, metav1.CreateOptions{}))
	}
	t.Cleanup(func() {
		for _, s := range derived {
			_ = cs.DiscoveryV1().EndpointSlices(featuresNS).Delete(ctx, s.Name, metav1.DeleteOptions{})
		}
		for _, si := range imports {
			_ = mcs.ServiceImports(featuresNS).Delete(ctx, si.Name, metav1.DeleteOptions{})
		}
	})

	startFeatureServerFor(t, env.dnsConf, "cluster.local clusterset.local in-addr.arpa ip6.arpa", "multicluster clusterset.local")
	const zone = "." + featuresNS + ".svc.clusterset.local"
	equal := func(want ...string) func(answer) bool {
		return func(a answer) bool { return a.rcode == dns.RcodeSuccess && slices.Equal(a.records, want) }
	}
	expectAt(t, featureAddr, "ClusterSetIP import", "mc-web"+zone, dns.TypeA, 10*time.Second, equal("A 10.100.0.10"))
	expectAt(t, featureAddr, "ClusterSetIP import SRV", "_http._tcp.mc-web"+zone, dns.TypeSRV, 10*time.Second,
		equal("SRV 0 100 80 mc-web"+zone+"."))
	expectAt(t, featureAddr, "headless import", "mc-db"+zone, dns.TypeA, 10*time.Second, equal("A 10.250.1.1", "A 10.250.2.1"))
	expectAt(t, featureAddr, "endpoint of a cluster", "db-0.west.mc-db"+zone, dns.TypeA, 10*time.Second, equal("A 10.250.2.1"))
	expectAt(t, featureAddr, "headless import SRV", "_pg._tcp.mc-db"+zone, dns.TypeSRV, 10*time.Second,
		equal("SRV 0 50 5432 db-0.east.mc-db"+zone+".", "SRV 0 50 5432 db-0.west.mc-db"+zone+"."))
	expectAt(t, featureAddr, "an import is no Service", "mc-web."+featuresNS+".svc.cluster.local", dns.TypeA, 10*time.Second, rcode(dns.RcodeNameError))

	// Changes: a cluster's endpoints leave, an import is withdrawn.
	start := time.Now()
	if err := cs.DiscoveryV1().EndpointSlices(featuresNS).Delete(ctx, "mc-db-west", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	expectAt(t, featureAddr, "headless import without west", "mc-db"+zone, dns.TypeA, 10*time.Second, equal("A 10.250.1.1"))
	record("multicluster: imported slice deleted", time.Since(start))
	expectAt(t, featureAddr, "west gone", "db-0.west.mc-db"+zone, dns.TypeA, 10*time.Second, rcode(dns.RcodeNameError))
	start = time.Now()
	if err := mcs.ServiceImports(featuresNS).Delete(ctx, "mc-web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	expectAt(t, featureAddr, "withdrawn import", "mc-web"+zone, dns.TypeA, 10*time.Second, rcode(dns.RcodeNameError))
	record("multicluster: ServiceImport deleted", time.Since(start))
}

// installServiceImportCRD creates the ServiceImport CRD of the mcs-api
// module the plugin is built with.
func installServiceImportCRD(t *testing.T, ctx context.Context, dyn dynamic.Interface) {
	t.Helper()
	obj := map[string]any{}
	if err := yaml.Unmarshal(crd.ServiceImportCRD, &obj); err != nil {
		t.Fatal(err)
	}
	gvr := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	_, err := dyn.Resource(gvr).Create(ctx, &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// importedSlice is the slice an MCS implementation derives for the import
// svc from one endpoint, named db-0, in cluster.
func importedSlice(svc, cluster, ip string) *discoveryv1.EndpointSlice {
	port, proto, host := int32(5432), corev1.ProtocolTCP, "db-0"
	name := "pg"
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: featuresNS, Name: svc + "-" + cluster, Labels: map[string]string{
			mcsv1alpha1.LabelServiceName: svc, mcsv1alpha1.LabelSourceCluster: cluster,
		}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Protocol: &proto, Port: &port}},
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{ip}, Hostname: &host}},
	}
}
