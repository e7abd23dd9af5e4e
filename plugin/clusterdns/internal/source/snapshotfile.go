package source

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/object"
)

// A snapshot file holds the slim objects of the stores, so a server that
// starts while the API server is out of reach can answer from them. Layout
// (integers are unsigned varints unless said otherwise, strings a length
// and the bytes):
//
//	magic "CDNSSNAP", version (2 bytes, big endian)
//	options   string: the options that shape the slim objects (snapshotOptions)
//	written   Unix nanoseconds
//	namespaces, each: name, 1 if the Namespace object exists else 0,
//	  services:  name, external name, flags (1 headless, 2 invalid, 4 selector), addresses, ports
//	  slices:    name, service, ports, endpoints (address, name), terminating endpoints,
//	             zones of the endpoints, zones of the terminating ones (both may be empty)
//	  pods:      name, phase, flags (1 host network, 2 deleting), creation time (varint,
//	             Unix seconds), addresses
//	CRC-32C of everything before it (4 bytes, big endian)
//
// An address is its length (4 or 16) and its bytes; a port is its name,
// protocol and number. Objects keep no resource version: the first list
// from the API server replaces them all.

const (
	snapshotMagic   = "CDNSSNAP"
	snapshotVersion = 1
)

var snapshotCRC = crc32.MakeTable(crc32.Castagnoli)

// snapshotOptions names the options that change what the stores hold, so
// a file written under other ones is not served.
func snapshotOptions(cfg *Config) string {
	sel := func(s fmt.Stringer) string {
		if s == nil {
			return ""
		}
		return s.String()
	}
	return fmt.Sprintf("labels=%s;namespace_labels=%s;endpoint_pod_names=%t;fallback_terminating=%t;zones=%t;noendpoints=%t;pods_verified=%t",
		sel(cfg.LabelSelector), sel(cfg.NamespaceSelector), cfg.EndpointPodNames, cfg.FallbackTerminating, cfg.KeepZones(), cfg.NoEndpoints, cfg.PodMode == index.PodsVerified)
}

// snapshotNamespace is the content of one namespace in a snapshot file.
type snapshotNamespace struct {
	exists   bool
	services []*object.Service
	slices   []*object.EndpointSlice
	pods     []*object.Pod
}

// snapshotContent is a decoded snapshot file.
type snapshotContent struct {
	written    time.Time
	namespaces map[string]*snapshotNamespace
}

// services counts the services of a snapshot.
func (content *snapshotContent) services() int {
	n := 0
	for _, ns := range content.namespaces {
		n += len(ns.services)
	}
	return n
}

// snapshotOf collects the content of the stores by namespace.
func snapshotOf(st Stores, written time.Time) *snapshotContent {
	s := &snapshotContent{written: written, namespaces: make(map[string]*snapshotNamespace)}
	in := func(name string) *snapshotNamespace {
		ns := s.namespaces[name]
		if ns == nil {
			ns = &snapshotNamespace{}
			s.namespaces[name] = ns
		}
		return ns
	}
	for _, o := range st.Namespaces.List() {
		if n, ok := o.(*corev1.Namespace); ok {
			in(n.Name).exists = true
		}
	}
	for _, o := range st.Services.List() {
		if svc, ok := o.(*object.Service); ok {
			ns := in(svc.Namespace)
			ns.services = append(ns.services, svc)
		}
	}
	if st.Slices != nil {
		for _, o := range st.Slices.List() {
			if sl, ok := o.(*object.EndpointSlice); ok {
				ns := in(sl.Namespace)
				ns.slices = append(ns.slices, sl)
			}
		}
	}
	if st.Pods != nil {
		for _, o := range st.Pods.List() {
			if p, ok := o.(*object.Pod); ok {
				ns := in(p.Namespace)
				ns.pods = append(ns.pods, p)
			}
		}
	}
	// Sorted, so the same content gives the same bytes.
	for _, ns := range s.namespaces {
		slices.SortFunc(ns.services, func(a, b *object.Service) int { return strings.Compare(a.Name, b.Name) })
		slices.SortFunc(ns.slices, func(a, b *object.EndpointSlice) int { return strings.Compare(a.Name, b.Name) })
		slices.SortFunc(ns.pods, func(a, b *object.Pod) int { return strings.Compare(a.Name, b.Name) })
	}
	return s
}

// fill adds the content to empty stores made for the same options.
func (content *snapshotContent) fill(st Stores) error {
	for name, ns := range content.namespaces {
		if ns.exists {
			if err := st.Namespaces.Add(object.SlimNamespace(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})); err != nil {
				return err
			}
		}
		for _, svc := range ns.services {
			if err := st.Services.Add(svc); err != nil {
				return err
			}
		}
		for _, sl := range ns.slices {
			if st.Slices == nil {
				break
			}
			if err := st.Slices.Add(sl); err != nil {
				return err
			}
		}
		for _, p := range ns.pods {
			if st.Pods == nil {
				break
			}
			if err := st.Pods.Add(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// encodeSnapshot returns the file content for s.
func encodeSnapshot(s *snapshotContent, options string) []byte {
	b := make([]byte, 0, 4096)
	b = append(b, snapshotMagic...)
	b = binary.BigEndian.AppendUint16(b, snapshotVersion)
	b = putString(b, options)
	b = binary.AppendUvarint(b, uint64(s.written.UnixNano()))

	names := make([]string, 0, len(s.namespaces))
	for name := range s.namespaces {
		names = append(names, name)
	}
	slices.Sort(names)
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, name := range names {
		ns := s.namespaces[name]
		b = putString(b, name)
		b = putBool(b, ns.exists)
		b = binary.AppendUvarint(b, uint64(len(ns.services)))
		for _, svc := range ns.services {
			b = putString(b, svc.Name)
			b = putString(b, svc.ExternalName)
			b = append(b, serviceFlags(svc))
			b = putAddrs(b, svc.ClusterIPs)
			b = putPorts(b, svc.Ports)
		}
		b = binary.AppendUvarint(b, uint64(len(ns.slices)))
		for _, sl := range ns.slices {
			b = putString(b, sl.Name)
			b = putString(b, sl.Service)
			b = putPorts(b, sl.Ports)
			b = putEndpoints(b, sl.Ready)
			b = putEndpoints(b, sl.Terminating)
			b = putStrings(b, sl.Zones)
			b = putStrings(b, sl.TermZones)
		}
		b = binary.AppendUvarint(b, uint64(len(ns.pods)))
		for _, p := range ns.pods {
			b = putString(b, p.Name)
			b = putString(b, string(p.Phase))
			b = append(b, podFlags(p))
			b = binary.AppendVarint(b, p.Created)
			b = putAddrs(b, p.Addrs)
		}
	}
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, snapshotCRC))
}

func putString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// Flags of services and pods in a snapshot file.
const (
	flagHeadless = 1 << iota
	flagInvalid
	flagSelector
	serviceFlagsKnown = flagHeadless | flagInvalid | flagSelector
)

const (
	flagHostNetwork = 1 << iota
	flagDeleting
	podFlagsKnown = flagHostNetwork | flagDeleting
)

// flags packs booleans, the first in the lowest bit.
func flags(bits ...bool) byte {
	var f byte
	for i, b := range bits {
		if b {
			f |= 1 << i
		}
	}
	return f
}

func serviceFlags(svc *object.Service) byte { return flags(svc.Headless, svc.Invalid, svc.Selector) }

func podFlags(p *object.Pod) byte { return flags(p.HostNetwork, p.Deleting) }

func putStrings(b []byte, ss []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = putString(b, s)
	}
	return b
}

func putEndpoints(b []byte, eps []index.Endpoint) []byte {
	b = binary.AppendUvarint(b, uint64(len(eps)))
	for _, ep := range eps {
		b = putAddr(b, ep.Addr)
		b = putString(b, ep.Name)
	}
	return b
}

func putBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func putAddr(b []byte, a netip.Addr) []byte {
	raw := a.AsSlice()
	b = append(b, byte(len(raw)))
	return append(b, raw...)
}

func putAddrs(b []byte, addrs []netip.Addr) []byte {
	b = binary.AppendUvarint(b, uint64(len(addrs)))
	for _, a := range addrs {
		b = putAddr(b, a)
	}
	return b
}

func putPorts(b []byte, ports []index.Port) []byte {
	b = binary.AppendUvarint(b, uint64(len(ports)))
	for _, p := range ports {
		b = putString(b, p.Name)
		b = putString(b, p.Proto)
		b = binary.AppendUvarint(b, uint64(p.Number))
	}
	return b
}

// Errors of decodeSnapshot; each says why a file is not served.
var (
	errSnapshotFormat   = errors.New("not a clusterdns snapshot")
	errSnapshotChecksum = errors.New("checksum mismatch: the file is truncated or damaged")
	errSnapshotCorrupt  = errors.New("malformed content")
)

// decodeSnapshot checks and decodes a snapshot file written under options.
// It returns all of the content or an error, never part of it.
func decodeSnapshot(data []byte, options string) (*snapshotContent, error) {
	head := len(snapshotMagic) + 2
	if len(data) < head+4 || string(data[:len(snapshotMagic)]) != snapshotMagic {
		return nil, errSnapshotFormat
	}
	if v := binary.BigEndian.Uint16(data[len(snapshotMagic):]); v != snapshotVersion {
		return nil, fmt.Errorf("format version %d, this build reads version %d", v, snapshotVersion)
	}
	body := data[:len(data)-4]
	if crc32.Checksum(body, snapshotCRC) != binary.BigEndian.Uint32(data[len(data)-4:]) {
		return nil, errSnapshotChecksum
	}
	r := &snapshotReader{b: body[head:]}
	if got := r.string(); r.err == nil && got != options {
		return nil, fmt.Errorf("written with other options (%s), now %s", got, options)
	}
	s := &snapshotContent{written: time.Unix(0, int64(r.uvarint())), namespaces: make(map[string]*snapshotNamespace)}
	for range r.count() {
		name := r.string()
		ns := &snapshotNamespace{exists: r.bool()}
		for range r.count() {
			svc := &object.Service{Meta: object.Meta{Namespace: name, Name: r.string()}}
			svc.ExternalName = r.string()
			flags := r.flags(serviceFlagsKnown)
			svc.Headless, svc.Invalid, svc.Selector = flags&flagHeadless != 0, flags&flagInvalid != 0, flags&flagSelector != 0
			svc.ClusterIPs = r.addrs()
			svc.Ports = r.ports()
			ns.services = append(ns.services, svc)
		}
		for range r.count() {
			sl := &object.EndpointSlice{Meta: object.Meta{Namespace: name, Name: r.string()}}
			sl.Service = r.string()
			sl.Ports = r.ports()
			sl.Ready = r.endpoints(sl)
			sl.Terminating = r.endpoints(sl)
			sl.Zones = r.zones(len(sl.Ready))
			sl.TermZones = r.zones(len(sl.Terminating))
			ns.slices = append(ns.slices, sl)
		}
		for range r.count() {
			p := &object.Pod{Meta: object.Meta{Namespace: name, Name: r.string()}}
			p.Phase = corev1.PodPhase(r.string())
			flags := r.flags(podFlagsKnown)
			p.HostNetwork, p.Deleting = flags&flagHostNetwork != 0, flags&flagDeleting != 0
			p.Created = r.varint()
			p.Addrs = r.addrs()
			ns.pods = append(ns.pods, p)
		}
		if _, dup := s.namespaces[name]; dup && r.err == nil {
			r.err = errSnapshotCorrupt
		}
		s.namespaces[name] = ns
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = errSnapshotCorrupt
	}
	if r.err != nil {
		return nil, r.err
	}
	return s, nil
}

// snapshotReader reads the body of a snapshot file. The first error
// sticks: every later read returns a zero value, so decoding runs to the
// end of its loops without checks at each step, and loops stay bounded as
// counts read after an error are 0.
type snapshotReader struct {
	b   []byte
	err error
}

func (r *snapshotReader) fail() {
	if r.err == nil {
		r.err = errSnapshotCorrupt
	}
	r.b = nil
}

func (r *snapshotReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads the length of a list. Every element takes at least one byte,
// so a count above the bytes left is corrupt (and would allocate wildly).
func (r *snapshotReader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return 0
	}
	return int(n)
}

func (r *snapshotReader) bytes(n int) []byte {
	if n > len(r.b) {
		r.fail()
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *snapshotReader) string() string { return string(r.bytes(r.count())) }

// flags reads a flags byte with only known bits set.
func (r *snapshotReader) flags(known byte) byte {
	b := r.bytes(1)
	if len(b) == 0 {
		return 0
	}
	if b[0]&^known != 0 {
		r.fail()
	}
	return b[0]
}

func (r *snapshotReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *snapshotReader) addrs() []netip.Addr {
	var out []netip.Addr
	for range r.count() {
		out = append(out, r.addr())
	}
	return out
}

// zones reads the zones of n endpoints: none (nil), or one for each.
func (r *snapshotReader) zones(n int) []string {
	c := r.count()
	if c != 0 && c != n {
		r.fail()
		return nil
	}
	var out []string
	for range c {
		out = append(out, r.string())
	}
	return out
}

func (r *snapshotReader) endpoints(sl *object.EndpointSlice) []index.Endpoint {
	var out []index.Endpoint
	for range r.count() {
		out = append(out, index.Endpoint{Addr: r.addr(), Name: r.string(), Slice: &sl.Slice})
	}
	return out
}

func (r *snapshotReader) bool() bool {
	b := r.bytes(1)
	if len(b) == 1 && b[0] > 1 {
		r.fail()
	}
	return len(b) == 1 && b[0] == 1
}

func (r *snapshotReader) addr() netip.Addr {
	raw := r.bytes(1)
	if len(raw) == 0 {
		return netip.Addr{}
	}
	a, ok := netip.AddrFromSlice(r.bytes(int(raw[0])))
	if !ok || (raw[0] != 4 && raw[0] != 16) {
		r.fail()
	}
	return a
}

func (r *snapshotReader) ports() []index.Port {
	var out []index.Port
	for range r.count() {
		p := index.Port{Name: r.string(), Proto: r.string()}
		n := r.uvarint()
		if n == 0 || n > 65535 {
			r.fail()
		}
		p.Number = uint16(n)
		out = append(out, p)
	}
	return out
}

// describeSnapshot is how a loaded snapshot is named in the log.
func describeSnapshot(path string, s *snapshotContent) string {
	return path + " (" + strconv.Itoa(s.services()) + " services, written " + s.written.UTC().Format(time.RFC3339) + ")"
}
