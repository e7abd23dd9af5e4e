package source

import (
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
