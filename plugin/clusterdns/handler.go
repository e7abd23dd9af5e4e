package clusterdns

import (
	"context"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/request"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/answer"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/dnsname"
)

// ServeDNS implements plugin.Handler. It matches the zone, answers from the
// current view of the index, and alone turns the lookup result into an rcode.
func (c *ClusterDNS) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	if len(r.Question) != 1 {
		// RFC 1035 §4.1.2 queries carry exactly one question.
		return dns.RcodeFormatError, nil
	}
	q := r.Question[0]
	zone := dnsname.MatchZone(q.Name, c.cfg.zones)
	if zone == "" {
		return plugin.NextOrFailure(c.Name(), c.Next, ctx, w, r)
	}
	if r.Opcode != dns.OpcodeQuery {
		return dns.RcodeNotImplemented, nil
	}
	if q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY {
		return dns.RcodeRefused, nil
	}
	if q.Qtype == dns.TypeAXFR || q.Qtype == dns.TypeIXFR {
		// Zone transfers are the transfer plugin's job, ahead of us in the chain.
		return dns.RcodeRefused, nil
	}
	if !c.answering() {
		// Never a partial answer and never NXDOMAIN from a cache that has not
		// synced: a negative answer would be cached by clients.
		if c.cfg.fall.Through(q.Name) {
			return plugin.NextOrFailure(c.Name(), c.Next, ctx, w, r)
		}
		return dns.RcodeServerFailure, nil
	}

	l := answer.New(ctx, c.answers, c.index.Load(), request.Request{W: w, Req: r}, q.Name, q.Qtype, zone)
	res := l.Run()
	if res == answer.NXDomain && c.cfg.fall.Through(q.Name) {
		return plugin.NextOrFailure(c.Name(), c.Next, ctx, w, r)
	}
	if l.Reason != answer.ReasonNone {
		negativeAnswers[l.Reason].Inc()
		noteReason(ctx, l.Reason)
	}

	rep := &reply{}
	m := rep.of(r)
	m.Authoritative = true
	m.Truncated = l.Truncated
	m.Answer = l.Answer
	m.Extra = l.Extra
	if res != answer.Success {
		if res == answer.NXDomain {
			m.Rcode = dns.RcodeNameError
		}
		neg := &authority{}
		l.FillSOA(&neg.soa)
		neg.list[0] = &neg.soa
		m.Ns = neg.list[:]
	}
	// The rcode is decided and the reply is ours to write: a failed write
	// (the client has gone) is not the plugin's error, and logging it would
	// be a line per query.
	_ = w.WriteMsg(m)
	return dns.RcodeSuccess, nil
}

// reply is a response with room for its one question, so that both come in
// one allocation.
type reply struct {
	msg      dns.Msg
	question [1]dns.Question
}

// of makes the reply to r, as dns.Msg.SetReply does for a query.
func (rep *reply) of(r *dns.Msg) *dns.Msg {
	m := &rep.msg
	m.Id = r.Id
	m.Response = true
	m.Opcode = r.Opcode
	m.RecursionDesired = r.RecursionDesired
	m.CheckingDisabled = r.CheckingDisabled
	m.Rcode = dns.RcodeSuccess
	rep.question[0] = r.Question[0]
	m.Question = rep.question[:]
	return m
}

// authority is the authority section of a negative answer, the zone's SOA,
// in one allocation.
type authority struct {
	list [1]dns.RR
	soa  dns.SOA
}
