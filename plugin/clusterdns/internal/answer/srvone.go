package answer

import (
	"net"
	"unsafe"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
)

// maxTarget is the longest target name the one-allocation SRV answer has
// room for: every service name (two labels of up to 63 characters and
// "svc") in a zone of up to 36 characters, such as cluster.local, and the
// answer's allocation in a 384-byte size class. Longer names take the
// general path.
const maxTarget = 168

// serviceSRV is a one-record SRV answer whose target is the service's own
// name, with that name's addresses as glue and the name itself, in one
// allocation: the answer of a named port of a ClusterIP service.
type serviceSRV struct {
	answer [1]dns.RR
	srv    dns.SRV
	extra  [2]dns.RR
	a      dns.A
	aaaa   dns.AAAA
	name   [maxTarget]byte
}

// serviceTarget answers the one SRV record of e whose target is e's own
// name (a ClusterIP service's), as the first records of the lookup, and
// reports false, having done nothing, when e has more than one address of
// a family or the name is too long.
func (l *Lookup) serviceTarget(e *index.Entry, port, weight uint16) bool {
	if len(e.A4) > net.IPv4len || len(e.A6) > net.IPv6len || len(e.Owner)+1+len(l.spelled) > maxTarget {
		return false
	}
	one := &serviceSRV{}
	b := append(one.name[:0], e.Owner...) // within the array: never reallocated
	b = append(b, '.')
	if l.spelled != "." {
		b = append(b, l.spelled...)
	}
	// The name lives in the answer's own allocation, which nothing writes
	// once the answer is built.
	target := unsafe.String(&one.name[0], len(b))

	ttl := l.o.TTL
	one.srv = dns.SRV{Hdr: l.hdr(l.qname, dns.TypeSRV, ttl), Weight: weight, Port: port, Target: target}
	one.answer[0] = &one.srv
	l.Answer = one.answer[:]
	extra := one.extra[:0]
	if len(e.A4) == net.IPv4len {
		one.a = dns.A{Hdr: l.hdr(target, dns.TypeA, ttl), A: net.IP(e.A4[:4:4])}
		extra = append(extra, &one.a)
	}
	if len(e.A6) == net.IPv6len {
		one.aaaa = dns.AAAA{Hdr: l.hdr(target, dns.TypeAAAA, ttl), AAAA: net.IP(e.A6[:16:16])}
		extra = append(extra, &one.aaaa)
	}
	l.Extra = extra // the lookup's first records: srv adds nothing before
	return true
}
