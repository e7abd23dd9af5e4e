package dnsname

import (
	"net/netip"
	"strings"
)

// IsDNSLabel reports whether s is a name Kubernetes allows for a Service,
// namespace or port (an RFC 1123 label: letters, digits and inner hyphens,
// at most 63), so it can stand as one label of an owner name.
func IsDNSLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isLabelByte(s[i]) {
			return false
		}
	}
	return true
}

// isLabelByte reports whether c may stand in an RFC 1123 label: a letter, a
// digit or a hyphen.
func isLabelByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
}

// ValidLabel reports whether s can be a single DNS label of an owner name.
func ValidLabel(s string) bool {
	return len(s) > 0 && len(s) < 64 && !strings.ContainsAny(s, ". \\")
}

// ValidHost reports whether s (without trailing dot) is a usable host name.
func ValidHost(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if !ValidLabel(label) {
			return false
		}
	}
	return true
}

// Proto lower-cases a Kubernetes protocol for the _<proto> label.
func Proto(p string) string {
	switch p {
	case "TCP", "":
		return "tcp"
	case "UDP":
		return "udp"
	case "SCTP":
		return "sctp"
	}
	return strings.ToLower(p)
}

// Dashed is the system-assigned endpoint name: 10.0.0.1 -> 10-0-0-1,
// fd00::1 -> fd00--1, and a trailing "::" gets a 0 so the label does not end
// in a dash (fd00:: -> fd00--0), as CoreDNS names them.
func Dashed(ip netip.Addr) string {
	s := ip.String()
	if ip.Is4() {
		return strings.ReplaceAll(s, ".", "-")
	}
	s = strings.ReplaceAll(s, ":", "-")
	if strings.HasSuffix(s, "-") {
		s += "0"
	}
	return s
}

// ParseDashed reads the address out of a dashed label: 10-244-1-5 or fd00--5.
func ParseDashed(label string) (netip.Addr, bool) {
	var s string
	if strings.Count(label, "-") == 3 && !strings.Contains(label, "--") {
		s = strings.ReplaceAll(label, "-", ".")
	} else {
		s = strings.ReplaceAll(label, "-", ":")
	}
	addr, err := netip.ParseAddr(s)
	if err != nil || addr.Zone() != "" {
		return netip.Addr{}, false
	}
	return addr.Unmap(), true
}
