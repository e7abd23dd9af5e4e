package source

import (
	"fmt"
	"testing"

	mcsv1alpha1 "sigs.k8s.io/mcs-api/pkg/apis/v1alpha1"

	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/object"
)

// TestSlimImportedSlice checks the MCS labels are read only with the option.
func TestSlimImportedSlice(t *testing.T) {
	s := fixture.ImportedSlice("prod", "db", "East", "db-east", discoveryv1.AddressTypeIPv4, nil, fixture.Endpoint{IP: "10.1.1.1"})
	on := object.Slimmer{Multicluster: true}.EndpointSlice(s)
	if on.Service != "db" || on.Cluster() != "east" || len(on.Ready) != 1 || sliceImportKey(on) != "prod/db" || sliceServiceKey(on) != "" {
		t.Errorf("multicluster: service %q cluster %q eps %d keys %q %q", on.Service, on.Cluster(), len(on.Ready), sliceImportKey(on), sliceServiceKey(on))
	}
	if off := (object.Slimmer{}).EndpointSlice(s); off.Service != "" || off.Cluster() != "" || len(off.Ready) != 0 {
		t.Errorf("without multicluster: service %q cluster %q eps %d, want nothing kept", off.Service, off.Cluster(), len(off.Ready))
	}
	noCluster := fixture.ImportedSlice("prod", "db", "", "db-x", discoveryv1.AddressTypeIPv4, nil, fixture.Endpoint{IP: "10.1.1.1"})
	if got := (object.Slimmer{Multicluster: true}).EndpointSlice(noCluster); got.Service != "" || got.Imported() {
		t.Errorf("no source cluster: service %q cluster %q, want neither", got.Service, got.Cluster())
	}
	// A Service's slice keeps its Service even with the MCS label.
	both := fixture.Slice("prod", "web", "web-1", discoveryv1.AddressTypeIPv4, nil, fixture.Endpoint{IP: "10.244.0.5"})
	both.Labels[mcsv1alpha1.LabelServiceName] = "other"
	both.Labels[mcsv1alpha1.LabelSourceCluster] = "east"
	if got := (object.Slimmer{Multicluster: true}).EndpointSlice(both); sliceServiceKey(got) != "prod/web" || got.Imported() {
		t.Errorf("local slice with MCS labels: keys %q %q", sliceServiceKey(got), sliceImportKey(got))
	}
}

// TestSlicesOfService checks a Service's slices are found by the index
// whose groups many Services share: every slice of it, and no other's.
func TestSlicesOfService(t *testing.T) {
	st := NewStores(&Config{})
	const services = 3 * sliceBuckets // every group holds several Services
	for i := range services {
		svc := fmt.Sprintf("svc-%d", i)
		for _, ns := range []string{"a", "b"} {
			for j := range 1 + i%2 {
				s := fixture.Slice(ns, svc, fmt.Sprintf("%s-%d", svc, j), discoveryv1.AddressTypeIPv4, nil)
				if err := st.Add(object.Slimmer{}, s); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for i := range services {
		svc := fmt.Sprintf("svc-%d", i)
		got := slicesOfService(st.Slices, "b", svc)
		if len(got) != 1+i%2 {
			t.Fatalf("%s: %d slices, want %d", svc, len(got), 1+i%2)
		}
		for _, s := range got {
			if s.Namespace != "b" || s.Service != svc {
				t.Errorf("%s: slice %s/%s of %s", svc, s.Namespace, s.Name, s.Service)
			}
		}
	}
	if got := slicesOfService(st.Slices, "c", "svc-1"); len(got) != 0 {
		t.Errorf("a Service with no slices has %d", len(got))
	}
}
