package object

import (
	"strings"
	"unique"

	discoveryv1 "k8s.io/api/discovery/v1"
	mcsv1alpha1 "sigs.k8s.io/mcs-api/pkg/apis/v1alpha1"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/dnsname"
)

// Multi-cluster services (`multicluster`, the MCS-API of KEP-1645): in a
// multicluster zone, <svc>.<ns>.svc.<zone> answers from the ServiceImport
// <ns>/<svc> that an MCS implementation keeps in this cluster, and from the
// EndpointSlices it derives for it, labelled with the import's name
// (multicluster.kubernetes.io/service-name) and the cluster the endpoints
// are in (multicluster.kubernetes.io/source-cluster). A ClusterSetIP import
// answers its IPs, a Headless one the addresses of its endpoints in every
// cluster, each named <host>.<cluster>.<svc>.<ns>.svc.<zone> (KEP-1645,
// "DNS"). A ServiceImport is kept as a slim service, so the records of an
// import are built exactly as those of a Service.

// Kinds and reasons of skipped_objects_total for multi-cluster objects.
const (
	KindServiceImport       = "serviceimport"
	ReasonNoClusterLabel    = "no_cluster_label"
	ReasonInvalidImportType = "invalid_import_type"
)

// SlimImport returns the slim service of a ServiceImport: its IPs (none for
// a Headless import) and ports. An import of another type than ClusterSetIP
// or Headless is invalid, so not served.
func SlimImport(si *mcsv1alpha1.ServiceImport) *Service { return Slimmer{}.Import(si) }

// Import returns the slim service of a ServiceImport.
func (sl Slimmer) Import(si *mcsv1alpha1.ServiceImport) *Service {
	out := &Service{Meta: MetaOf(&si.ObjectMeta)}
	if !dnsname.IsDNSLabel(si.Name) || !dnsname.IsDNSLabel(si.Namespace) {
		sl.skip(KindServiceImport, ReasonInvalidName)
		out.Invalid = true
		return out
	}
	switch si.Spec.Type {
	case mcsv1alpha1.Headless:
		out.Headless = true
	case mcsv1alpha1.ClusterSetIP:
		out.ClusterIPs = sl.slimIPs(KindServiceImport, si.Spec.IPs)
	default:
		sl.skip(KindServiceImport, ReasonInvalidImportType)
		out.Invalid = true
		return out
	}
	out.Ports = slimPorts(sl, KindServiceImport, si.Spec.Ports, func(p mcsv1alpha1.ServicePort) (string, string, int32) {
		return p.Name, string(p.Protocol), p.Port
	})
	return out
}

// importedSliceOwner reads the MCS labels of a slice that has no
// kubernetes.io/service-name label: the ServiceImport it belongs to and its
// source cluster, interned (a cluster set has a handful of clusters). ok is
// false when it is not an imported slice; a slice that names an import but
// no usable cluster is counted as skipped and gives empty names.
func (sl Slimmer) importedSliceOwner(s *discoveryv1.EndpointSlice) (svc, cluster string, ok bool) {
	svc, ok = s.Labels[mcsv1alpha1.LabelServiceName]
	if !ok {
		return "", "", false
	}
	cluster = s.Labels[mcsv1alpha1.LabelSourceCluster]
	if !dnsname.IsDNSLabel(cluster) {
		// Its endpoints' names, <host>.<cluster>.<svc>, need the cluster.
		sl.skip(KindSlice, ReasonNoClusterLabel)
		return "", "", true
	}
	return svc, unique.Make(strings.ToLower(cluster)).Value(), true
}
