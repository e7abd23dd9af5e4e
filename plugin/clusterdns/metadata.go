package clusterdns

import (
	"context"
	"strings"

	"github.com/coredns/coredns/plugin/metadata"
	"github.com/coredns/coredns/request"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/answer"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/dnsname"
)

// Metadata keys, under the plugin's name as the metadata plugin wants. They
// mirror the kubernetes plugin's keys (kubernetes/namespace, ...), so a log
// format, acl or rewrite rule written for it carries over by renaming the
// prefix.
const (
	mdKind            = pluginName + "/kind"             // svc or pod
	mdNamespace       = pluginName + "/namespace"        // the namespace in the name
	mdService         = pluginName + "/service"          // the service, or a pod name's address label
	mdEndpoint        = pluginName + "/endpoint"         // the endpoint label below a service
	mdPortName        = pluginName + "/port-name"        // _<port> without the underscore
	mdProtocol        = pluginName + "/protocol"         // _<proto> without the underscore
	mdCluster         = pluginName + "/cluster"          // the cluster of an endpoint name in a multicluster zone
	mdClientNamespace = pluginName + "/client-namespace" // namespace of the pod that asked
	mdClientPodName   = pluginName + "/client-pod-name"  // name of the pod that asked
	mdNegativeReason  = pluginName + "/negative-reason"  // why an answer is negative; "-" if it is not
)

// Metadata implements metadata.Provider. The metadata plugin calls it for
// every query before the plugin chain runs, and only when it is in the
// server block, so nothing here costs a server without it.
//
// Keys are set only when they have a value: a name outside the forward
// zones sets none of the name keys, a service name no endpoint key, and a
// query from an address that is no pod's (or without `pods verified`) no
// client keys; the log plugin prints "-" for those.
func (c *ClusterDNS) Metadata(ctx context.Context, state request.Request) context.Context {
	// The reason is known only once the handler has answered; the log
	// plugin reads it after that.
	note := &reasonNote{}
	ctx = context.WithValue(ctx, reasonNoteKey{}, note)
	metadata.SetValueFunc(ctx, mdNegativeReason, note.value)
	if c.cfg.IdentifyClients() {
		if client, ok := c.clientOf(state.W); ok {
			setMetadata(ctx, mdClientNamespace, client.Namespace)
			setMetadata(ctx, mdClientPodName, client.Name)
		}
	}
	if state.Req == nil || len(state.Req.Question) != 1 {
		return ctx
	}
	name := state.Req.Question[0].Name
	zone := dnsname.MatchZone(name, c.cfg.zones)
	if zone == "" || dnsname.IsReverseZone(zone) || len(name) == len(zone) {
		return ctx
	}
	f, ok := nameFields(dnsname.Parse(dnsname.Relative(name, zone)), c.answers.IsMulticluster(zone))
	if !ok {
		return ctx
	}
	setMetadata(ctx, mdKind, f.kind)
	setMetadata(ctx, mdNamespace, f.namespace)
	setMetadata(ctx, mdService, f.service)
	setMetadata(ctx, mdEndpoint, f.endpoint)
	setMetadata(ctx, mdPortName, f.port)
	setMetadata(ctx, mdProtocol, f.protocol)
	setMetadata(ctx, mdCluster, f.cluster)
	return ctx
}

// setMetadata sets label to value unless value is empty.
func setMetadata(ctx context.Context, label, value string) {
	if value != "" {
		metadata.SetValueFunc(ctx, label, func() string { return value })
	}
}

// queryFields are the parts of a name under a forward zone.
type queryFields struct {
	kind, namespace, service, endpoint, port, protocol string
	cluster                                            string // multicluster zones: <endpoint>.<cluster>.<svc>
}

// nameFields reads the parts of a parsed name the way the kubernetes
// plugin reads them for its metadata:
//
//	<kind>                                   svc, pod
//	<ns>.<kind>
//	<svc>.<ns>.<kind>                        (for pods, <svc> is the address label)
//	<endpoint>.<svc>.<ns>.svc
//	_<port>._<proto>.<svc>.<ns>.svc
//	<endpoint>.<cluster>.<svc>.<ns>.svc       (in a multicluster zone)
//
// A name of another shape, or under neither svc nor pod, has no parts.
func nameFields(n dnsname.Name, multicluster bool) (queryFields, bool) {
	if n.Kind == "" || strings.Contains(n.Rest, ".") {
		return queryFields{}, false
	}
	f := queryFields{kind: n.Kind, namespace: n.Namespace, service: n.Service}
	port, portLabel := dnsname.Underscored(n.Rest)
	proto, protoLabel := dnsname.Underscored(n.Label)
	switch {
	case n.Rest == "":
		f.endpoint = n.Label
	case multicluster && n.Kind == dnsname.KindService && !portLabel && !protoLabel:
		// As the kubernetes plugin reads it: an underscore on either
		// label makes it a port name.
		f.endpoint, f.cluster = n.Rest, n.Label
	default:
		f.port, f.protocol = port, proto
	}
	return f, true
}

// reasonNote carries the reason of a negative answer from the handler to
// the negative-reason metadata key, whose value is read after the answer.
type reasonNote struct{ reason answer.Reason }

type reasonNoteKey struct{}

// value is the metadata value: the reason, or "-" for a positive answer (or
// a name the plugin did not answer), as the log plugin prints unset keys.
func (n *reasonNote) value() string {
	if n.reason == answer.ReasonNone {
		return "-"
	}
	return n.reason.String()
}

// noteReason hands a negative answer's reason to the metadata, when the
// metadata plugin asked for it.
func noteReason(ctx context.Context, r answer.Reason) {
	if note, ok := ctx.Value(reasonNoteKey{}).(*reasonNote); ok {
		note.reason = r
	}
}
