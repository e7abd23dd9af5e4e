package dnsname

import (
	"net/netip"
	"strconv"
	"strings"
)

// ParseReverse reads a lower-case reverse name (with trailing dot) into the
// prefix it spells: a full address has 32 (in-addr.arpa) or 128 (ip6.arpa)
// bits, a partial name fewer.
func ParseReverse(name string) (netip.Prefix, bool) {
	if rest, ok := strings.CutSuffix(name, ".in-addr.arpa."); ok {
		labels := strings.Split(rest, ".")
		if len(labels) > 4 {
			return netip.Prefix{}, false
		}
		var b [4]byte
		for i, lab := range labels {
			v, err := strconv.ParseUint(lab, 10, 8)
			if err != nil || (len(lab) > 1 && lab[0] == '0') {
				return netip.Prefix{}, false
			}
			b[len(labels)-1-i] = byte(v)
		}
		return netip.PrefixFrom(netip.AddrFrom4(b), 8*len(labels)), true
	}
	if rest, ok := strings.CutSuffix(name, ".ip6.arpa."); ok {
		labels := strings.Split(rest, ".")
		if len(labels) > 32 {
			return netip.Prefix{}, false
		}
		var b [16]byte
		for i, lab := range labels {
			if len(lab) != 1 {
				return netip.Prefix{}, false
			}
			v, err := strconv.ParseUint(lab, 16, 8)
			if err != nil {
				return netip.Prefix{}, false
			}
			pos := len(labels) - 1 - i // nibble index from the left
			if pos%2 == 0 {
				b[pos/2] |= byte(v) << 4
			} else {
				b[pos/2] |= byte(v)
			}
		}
		return netip.PrefixFrom(netip.AddrFrom16(b), 4*len(labels)), true
	}
	return netip.Prefix{}, false
}

// IsReverseZone reports whether zone is in-addr.arpa., ip6.arpa. or below
// them. (dnsutil.IsReverse needs a label before the suffix, so it misses
// the two zones themselves.)
func IsReverseZone(zone string) bool {
	z := "." + strings.ToLower(zone)
	return strings.HasSuffix(z, ".in-addr.arpa.") || strings.HasSuffix(z, ".ip6.arpa.")
}
