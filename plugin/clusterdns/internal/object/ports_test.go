package object

import (
	"fmt"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
)

// TestPortListsShare checks which port lists share one array: equal ones,
// and only those.
func TestPortListsShare(t *testing.T) {
	http := []index.Port{{Name: "http", Proto: "tcp", Number: 80}}
	both := []index.Port{{Name: "http", Proto: "tcp", Number: 80}, {Name: "metrics", Proto: "tcp", Number: 9090}}
	tests := []struct {
		name string
		a, b []index.Port
		same bool
	}{
		{"equal", http, slices.Clone(http), true},
		{"equal, two ports", both, slices.Clone(both), true},
		{"another number", http, []index.Port{{Name: "http", Proto: "tcp", Number: 8080}}, false},
		{"another protocol", http, []index.Port{{Name: "http", Proto: "udp", Number: 80}}, false},
		{"unnamed", http, []index.Port{{Proto: "tcp", Number: 80}}, false},
		{"a name that spells on", []index.Port{{Name: "ab", Proto: "tcp", Number: 1}}, []index.Port{{Name: "a", Proto: "btcp", Number: 1}}, false},
		{"other order", both, []index.Port{both[1], both[0]}, false},
		{"a list and its start", both, both[:1], false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pl := NewPortLists()
			a, b := pl.share(tc.a), pl.share(tc.b)
			if !slices.Equal(a, tc.a) || !slices.Equal(b, tc.b) {
				t.Fatalf("shared %v and %v, want %v and %v", a, b, tc.a, tc.b)
			}
			if same := &a[0] == &b[0]; same != tc.same {
				t.Errorf("one array: %v, want %v", same, tc.same)
			}
			if &a[0] == &tc.a[0] || cap(a) != len(a) {
				t.Errorf("the list shared is the caller's, or has room (cap %d for %d)", cap(a), len(a))
			}
		})
	}
	if got := (*PortLists)(nil).share(http); !slices.Equal(got, http) || &got[0] == &http[0] {
		t.Errorf("without a table: %v, want a copy of %v", got, http)
	}
	if got := NewPortLists().share(nil); got != nil {
		t.Errorf("no ports: %v, want nil", got)
	}
}

// TestPortListsBound checks a full table shares no new list and stays at
// its bound.
func TestPortListsBound(t *testing.T) {
	pl := NewPortLists()
	for i := range maxPortLists + 10 {
		pl.share([]index.Port{{Proto: "tcp", Number: uint16(i + 1)}})
	}
	if pl.Len() != maxPortLists {
		t.Errorf("%d lists, want %d", pl.Len(), maxPortLists)
	}
	late := []index.Port{{Proto: "udp", Number: 53}}
	if a, b := pl.share(late), pl.share(late); &a[0] == &b[0] || !slices.Equal(a, late) {
		t.Errorf("past the bound: %v and %v share an array or differ from %v", a, b, late)
	}
}

// TestSlimSharesPorts checks that slim slices and Services with equal
// ports share one list.
func TestSlimSharesPorts(t *testing.T) {
	sl := Slimmer{Ports: NewPortLists()}
	ports := []discoveryv1.EndpointPort{fixture.SlicePort("http", corev1.ProtocolTCP, 8080)}
	var got [][]index.Port
	for i := range 3 {
		s := fixture.Slice("prod", fmt.Sprintf("web-%d", i), fmt.Sprintf("web-%d-a", i), discoveryv1.AddressTypeIPv4, ports,
			fixture.Endpoint{IP: fmt.Sprintf("10.244.0.%d", i+1)})
		got = append(got, sl.EndpointSlice(s).Ports)
	}
	for _, p := range got[1:] {
		if len(p) != 1 || &p[0] != &got[0][0] {
			t.Errorf("ports %v do not share %v", p, got[0])
		}
	}
	svc := func(name string) *corev1.Service {
		s := &corev1.Service{Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.1", Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80}}}}
		s.Name, s.Namespace = name, "prod"
		return s
	}
	a, b := sl.Service(svc("a")).Ports, sl.Service(svc("b")).Ports
	if len(a) != 1 || &a[0] != &b[0] || a[0] != (index.Port{Name: "http", Proto: "tcp", Number: 80}) {
		t.Errorf("service ports %v and %v, want one shared http/tcp/80", a, b)
	}
}
