package source

import (
	"testing"

	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/object"
)

// TestUnreadyHeadless checks the index records a headless service with no
// ready endpoint as such, and forgets it once an endpoint is ready, once
// it is deleted, and for a ClusterIP service without endpoints.
func TestUnreadyHeadless(t *testing.T) {
	db := index.ServiceKey{Name: "db", Namespace: "prod"}
	web := index.ServiceKey{Name: "web", Namespace: "prod"}
	r := loaded(t, nil, fixture.Namespace("prod"),
		fixture.Service("prod", "db", []string{"None"}),
		fixture.Service("prod", "web", []string{"10.96.0.20"}))
	unready := func(k index.ServiceKey) bool { _, ok := r.index.Load().Unready.Get(k); return ok }
	if !unready(db) || unready(web) {
		t.Fatalf("unready: db %t, web %t; want db only", unready(db), unready(web))
	}

	slice := fixture.Slice("prod", "db", "db-a", discoveryv1.AddressTypeIPv4, nil, fixture.Endpoint{IP: "10.244.1.1"})
	if err := r.ctl.st.Slices.Add(object.Slimmer{}.EndpointSlice(slice)); err != nil {
		t.Fatal(err)
	}
	r.ctl.markService("prod/db")
	r.ctl.process()
	if unready(db) {
		t.Error("still unready with a ready endpoint")
	}

	if err := r.ctl.st.Slices.Delete(object.Slimmer{}.EndpointSlice(slice)); err != nil {
		t.Fatal(err)
	}
	r.ctl.markService("prod/db")
	r.ctl.process()
	if !unready(db) {
		t.Error("not unready after its only endpoint went")
	}
	svc, _, _ := r.ctl.st.Services.GetByKey("prod/db")
	if err := r.ctl.st.Services.Delete(svc); err != nil {
		t.Fatal(err)
	}
	r.ctl.markService("prod/db")
	r.ctl.process()
	if unready(db) {
		t.Error("a deleted service is still recorded unready")
	}
}
