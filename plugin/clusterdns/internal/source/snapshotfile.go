package source

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/cache"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/object"
)

// A snapshot file holds the objects of the stores, so a server that starts
// while the API server is out of reach can answer from them. It is a gzip
// stream (RFC 1952) followed by the CRC-32C of that stream (4 bytes, big
// endian):
//
//   - the gzip header's comment is "clusterdns snapshot <version>", a
//     newline and the options the objects were slimmed under
//     (snapshotOptions); its modification time is when it was written, to
//     the second;
//   - its content is a core/v1 List in Kubernetes' protobuf encoding, whose
//     items are the API forms of the slim objects (object.Service.API and
//     the like), each in the same encoding: Namespaces, Services,
//     EndpointSlices and Pods, in the order of their keys.
//
// gzip's own CRC-32 covers only the content; the one behind the stream
// also covers the header and the bits the decompressor ignores, so that no
// change to the file goes unnoticed. `head -c -4 FILE | gunzip` gives the
// List, which apimachinery's serializers read. The file is read through
// the objects file's loader, which slims every object again.

const (
	snapshotHeader  = "clusterdns snapshot "
	snapshotVersion = 2
	// snapshotMagic began the files of version 1, a format of its own.
	snapshotMagic = "CDNSSNAP"
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
	opts := fmt.Sprintf("labels=%s;namespace_labels=%s;endpoint_pod_names=%t;fallback_terminating=%t;zones=%t;noendpoints=%t;pods_verified=%t",
		sel(cfg.LabelSelector), sel(cfg.NamespaceSelector), cfg.EndpointPodNames, cfg.FallbackTerminating, cfg.KeepZones(), cfg.NoEndpoints, cfg.PodMode == index.PodsVerified)
	// The later options are named only when on, so files written without
	// them stay valid for servers without them.
	if cfg.TrafficDistribution {
		opts += ";hints=true"
	}
	if cfg.Isolate {
		opts += ";clients=true;tenant_label=" + cfg.TenantLabel
	}
	return opts
}

// snapshotContent is a decoded snapshot file.
type snapshotContent struct {
	written time.Time
	objects *fileObjects
}

// fill adds the content to empty stores made for the same options.
func (content *snapshotContent) fill(st Stores) error { return content.objects.fill(st) }

// describeSnapshot is how a snapshot of services written at written is
// named in the log.
func describeSnapshot(path string, services int, written time.Time) string {
	return path + " (" + strconv.Itoa(services) + " services, written " + written.UTC().Format(time.RFC3339) + ")"
}

// snapshotCodec encodes the objects of a snapshot file and the List that
// holds them.
var snapshotCodec = protobuf.NewSerializer(scheme.Scheme, scheme.Scheme)

// encodeSnapshot returns the file content of the stores, written at
// written under options, and the number of services it holds; the same
// content gives the same bytes.
func encodeSnapshot(st Stores, written time.Time, options string) (data []byte, services int, err error) {
	list := &corev1.List{}
	list.APIVersion, list.Kind = "v1", "List"
	var item bytes.Buffer
	for _, o := range snapshotObjects(st) {
		if _, ok := o.(*corev1.Service); ok {
			services++
		}
		item.Reset()
		if err := snapshotCodec.Encode(o, &item); err != nil {
			return nil, 0, err
		}
		list.Items = append(list.Items, runtime.RawExtension{Raw: slices.Clone(item.Bytes())})
	}
	var out bytes.Buffer
	z, err := gzip.NewWriterLevel(&out, gzip.BestSpeed)
	if err != nil {
		return nil, 0, err
	}
	z.Comment = snapshotHeader + strconv.Itoa(snapshotVersion) + "\n" + options
	z.ModTime = written
	if err := snapshotCodec.Encode(list, z); err != nil {
		return nil, 0, err
	}
	if err := z.Close(); err != nil {
		return nil, 0, err
	}
	return binary.BigEndian.AppendUint32(out.Bytes(), crc32.Checksum(out.Bytes(), snapshotCRC)), services, nil
}

// snapshotObjects returns the API forms of the objects of the stores, by
// kind and then by key.
func snapshotObjects(st Stores) []runtime.Object {
	var out []runtime.Object
	each(st.Namespaces, func(n *corev1.Namespace) { out = append(out, object.NamespaceAPI(n)) })
	each(st.Services, func(s *object.Service) { out = append(out, s.API()) })
	each(st.Slices, func(s *object.EndpointSlice) { out = append(out, s.API()) })
	each(st.Pods, func(p *object.Pod) { out = append(out, p.API()) })
	return out
}

// each calls f with every object of type T in store (nil: none), in the
// order of their keys.
func each[T any](store cache.Store, f func(T)) {
	if store == nil {
		return
	}
	keys := store.ListKeys()
	slices.Sort(keys)
	for _, k := range keys {
		if o, ok, _ := store.GetByKey(k); ok {
			if t, ok := o.(T); ok {
				f(t)
			}
		}
	}
}

// Errors of decodeSnapshot; each says why a file is not served.
var (
	errSnapshotFormat   = errors.New("not a clusterdns snapshot")
	errSnapshotChecksum = errors.New("checksum mismatch: the file is truncated or damaged")
	errSnapshotCorrupt  = errors.New("malformed content")
)

// decodeSnapshot checks and decodes a snapshot file written under the
// options of cfg, slimming its objects for cfg. It returns all of the content or
// an error, never part of it.
func decodeSnapshot(data []byte, cfg *Config) (*snapshotContent, error) {
	if bytes.HasPrefix(data, []byte(snapshotMagic)) && len(data) >= len(snapshotMagic)+2 {
		v := binary.BigEndian.Uint16(data[len(snapshotMagic):])
		return nil, fmt.Errorf("format version %d, this build reads version %d", v, snapshotVersion)
	}
	if len(data) < 4 {
		return nil, errSnapshotFormat
	}
	body := data[:len(data)-4]
	z, err := gzip.NewReader(bytes.NewReader(body))
	switch {
	case errors.Is(err, gzip.ErrHeader):
		return nil, errSnapshotFormat
	case err != nil: // the header is cut short
		return nil, errSnapshotChecksum
	}
	head, options, _ := strings.Cut(z.Comment, "\n")
	version, ok := strings.CutPrefix(head, snapshotHeader)
	if !ok {
		return nil, errSnapshotFormat
	}
	if version != strconv.Itoa(snapshotVersion) {
		return nil, fmt.Errorf("format version %s, this build reads version %d", version, snapshotVersion)
	}
	if crc32.Checksum(body, snapshotCRC) != binary.BigEndian.Uint32(data[len(body):]) {
		return nil, errSnapshotChecksum
	}
	if want := snapshotOptions(cfg); options != want {
		return nil, fmt.Errorf("written with other options (%s), now %s", options, want)
	}
	list, err := io.ReadAll(z)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errSnapshotCorrupt, err)
	}
	l := newObjectLoader(cfg, false)
	if err := l.add(list); err != nil {
		return nil, fmt.Errorf("%w: %v", errSnapshotCorrupt, err)
	}
	return &snapshotContent{written: z.ModTime, objects: l.objects(false)}, nil
}
