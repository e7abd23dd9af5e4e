package object

import (
	"encoding/binary"
	"slices"
	"sync"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
)

// maxPortLists bounds what a PortLists holds: a cluster has far fewer
// distinct port lists than objects, and past the bound lists are kept
// unshared rather than the table growing without end.
const maxPortLists = 4096

// PortLists shares the port lists of slim Services and EndpointSlices: most
// objects have one of a few lists (http/80, https/443 and the like), and
// each slim object would otherwise keep a copy of its own, as costly as
// the rest of a small slim slice. Lists are never modified once shared. It
// is safe for concurrent use (the informers of several kinds slim at once).
type PortLists struct {
	mu    sync.Mutex
	lists map[string][]index.Port // by portsKey
}

// NewPortLists returns an empty PortLists.
func NewPortLists() *PortLists { return &PortLists{lists: make(map[string][]index.Port)} }

// share returns a list equal to ports that other objects may share; ports
// itself is not kept, so callers may build it in a buffer of their own.
// Without a PortLists (nil), it returns a copy of ports of exactly its size.
func (pl *PortLists) share(ports []index.Port) []index.Port {
	if len(ports) == 0 {
		return nil
	}
	if pl == nil {
		return slices.Clone(ports)
	}
	var buf [64]byte
	key := portsKey(buf[:0], ports)
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if l, ok := pl.lists[string(key)]; ok {
		return l
	}
	l := slices.Clone(ports)
	if len(pl.lists) < maxPortLists {
		pl.lists[string(key)] = l
	}
	return l
}

// Len returns how many lists are shared.
func (pl *PortLists) Len() int {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	return len(pl.lists)
}

// portsKey appends to dst a form of ports that equal lists share and no
// other list has: each port's number, then its name and protocol, each
// with its length first (a name is a DNS label, at most 63 bytes).
func portsKey(dst []byte, ports []index.Port) []byte {
	for _, p := range ports {
		dst = binary.BigEndian.AppendUint16(dst, p.Number)
		dst = append(dst, byte(len(p.Name)))
		dst = append(dst, p.Name...)
		dst = append(dst, byte(len(p.Proto)))
		dst = append(dst, p.Proto...)
	}
	return dst
}
