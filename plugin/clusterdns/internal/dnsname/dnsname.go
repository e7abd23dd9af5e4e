// Package dnsname is the grammar of the names clusterdns answers: a query
// name below a forward zone split into its parts, the dashed form of
// addresses, reverse names, zone matching and the search path a pod's
// resolver walks. It uses the standard library only, so every layer above
// can share it.
package dnsname

import "strings"

// Kinds of names below a forward zone (spec §2): services and pods.
const (
	KindService = "svc"
	KindPod     = "pod"
)

// Name is a name below a forward zone, read once into the parts every
// reader of it needs: the lookup that answers it, the metadata it offers
// and the zone transfer that lists it. Parts a name does not reach are "".
//
//	<kind>                                   svc, pod
//	<ns>.<kind>
//	<svc>.<ns>.<kind>                        (for pods, <svc> is the address label)
//	<label>.<svc>.<ns>.<kind>
//	<rest>.<label>.<svc>.<ns>.<kind>         rest may hold more labels
type Name struct {
	// Rel is the name relative to the zone, lower case, without the
	// trailing dot; "" at the apex.
	Rel string
	// Kind is KindService or KindPod, or "" for names under neither.
	Kind      string
	Namespace string
	Service   string
	// Label is the label right below the service, Rest everything below it.
	Label, Rest string
}

// Parse reads rel, a lower-case name relative to its zone without the
// trailing dot ("" for the apex).
func Parse(rel string) Name {
	n := Name{Rel: rel}
	rest, kind := CutLast(rel)
	if kind != KindService && kind != KindPod {
		return n
	}
	n.Kind = kind
	if rest == "" {
		return n
	}
	if rest, n.Namespace = CutLast(rest); rest == "" {
		return n
	}
	if rest, n.Service = CutLast(rest); rest == "" {
		return n
	}
	n.Rest, n.Label = CutLast(rest)
	return n
}

// Relative returns the lower-case part of name (absolute) above zone, one
// of its zones as MatchZone found it; "" at the apex. In the root zone it
// is the whole name without its trailing dot.
func Relative(name, zone string) string {
	if len(name) <= len(zone) {
		return ""
	}
	return strings.ToLower(strings.TrimSuffix(name[:len(name)-len(zone)], "."))
}

// Join returns the absolute name of rel (not empty) in zone; the
// inverse of Relative, the root zone included.
func Join(rel, zone string) string {
	if zone == "." {
		return rel + "."
	}
	return rel + "." + zone
}

// Underscored returns s without its leading underscore, and whether it had
// one: the _<port> and _<proto> labels of SRV names (spec §2.3.2).
func Underscored(s string) (string, bool) {
	return strings.CutPrefix(s, "_")
}

// CutLast splits a name at its last dot: ("a.b", "c") for "a.b.c", ("", "c") for "c".
func CutLast(s string) (rest, last string) {
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return "", s
}

// ServiceOwner returns the owner name of a service relative to its zone,
// "<svc>.<ns>.svc".
func ServiceOwner(namespace, name string) string {
	return strings.ToLower(name) + "." + strings.ToLower(namespace) + "." + KindService
}

// The zone-scoped names of headless services,
// <zone>.pin|prefer._zone.<svc>.<ns>.svc.<zone> (`zonal`), as the
// kubernetes plugin names them.
const (
	ZoneLabel       = "_zone"
	DirectivePin    = "pin"    // the endpoints in the zone only
	DirectivePrefer = "prefer" // the endpoints in the zone, else all of them
)
