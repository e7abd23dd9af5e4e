package answer

// Reason says why an answer is negative, from what the lookup found on its
// way: the first part of the name that does not exist, or that the name
// exists without records of the type asked. It changes nothing in the
// answer; it is counted, and offered to the log as metadata.
type Reason uint8

// The reasons of negative answers. ReasonNone is that of a positive one.
const (
	ReasonNone Reason = iota
	// ReasonNoRecordOfType: the name exists, but not with the type asked (NODATA).
	ReasonNoRecordOfType
	// ReasonOtherName: a name the schema does not define, such as one
	// under the zone but neither under svc nor under pod.
	ReasonOtherName
	// ReasonNoNamespace: no served namespace of that name.
	ReasonNoNamespace
	// ReasonNoService: the namespace has no service of that name.
	ReasonNoService
	// ReasonNoReadyEndpoints: a headless service none of whose endpoints is
	// ready, whose name does not exist until one is (spec §2.4.1).
	ReasonNoReadyEndpoints
	// ReasonBelowExternalName: a name below an ExternalName service.
	ReasonBelowExternalName
	// ReasonNoEndpoint: no endpoint of the service has that hostname or address.
	ReasonNoEndpoint
	// ReasonNoPort: no port of the service has that name and protocol.
	ReasonNoPort
	// ReasonUnknownPod: a pod name that is not one (`pods verified`: no
	// running pod has the address), or pod names are disabled.
	ReasonUnknownPod
	// ReasonNoAddress: a reverse name of an address nothing in the cluster has.
	ReasonNoAddress
	// ReasonSearchExpansion: a name a resolver's search path made, not one
	// asked for: below an unknown service of a namespace, a name of more
	// labels (example.com.<ns>.svc), or whose service label is itself a
	// served namespace (<svc>.<other-ns>.<ns>.svc).
	ReasonSearchExpansion
	// ReasonHidden: a name in a namespace `isolate` hides from the client,
	// answered as if the namespace did not exist.
	ReasonHidden

	// NumReasons is the number of reasons, for tables indexed by them.
	NumReasons
)

var reasonNames = [NumReasons]string{
	ReasonNone:              "",
	ReasonNoRecordOfType:    "no_record_of_type",
	ReasonOtherName:         "other_name",
	ReasonNoNamespace:       "no_namespace",
	ReasonNoService:         "no_service",
	ReasonNoReadyEndpoints:  "no_ready_endpoints",
	ReasonBelowExternalName: "below_external_name",
	ReasonNoEndpoint:        "no_endpoint",
	ReasonNoPort:            "no_port",
	ReasonUnknownPod:        "unknown_pod",
	ReasonNoAddress:         "no_address",
	ReasonSearchExpansion:   "search_expansion",
	ReasonHidden:            "hidden",
}

// String returns the reason's label value, "" for ReasonNone.
func (r Reason) String() string {
	if r < NumReasons {
		return reasonNames[r]
	}
	return ""
}

// nx returns NXDomain for reason r.
func (l *Lookup) nx(r Reason) Result {
	l.Reason = r
	return NXDomain
}
