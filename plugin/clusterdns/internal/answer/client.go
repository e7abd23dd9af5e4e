package answer

import (
	"net"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// ClientAddr returns the source address of a query, the one place every
// feature that needs the client's pod (autopath, metadata,
// client_zone_first) reads it. It allocates nothing for UDP and TCP, as it
// runs for every query those features see. A zone transfer's lookups have
// no writer, hence no client.
func ClientAddr(w dns.ResponseWriter) (netip.Addr, bool) {
	if w == nil {
		return netip.Addr{}, false
	}
	var ip net.IP
	switch a := w.RemoteAddr().(type) {
	case *net.UDPAddr:
		ip = a.IP
	case *net.TCPAddr:
		ip = a.IP
	default:
		if a == nil {
			return netip.Addr{}, false
		}
		// Other address types (DoH or DoQ behind a PROXY-protocol
		// listener) report a host:port string.
		ap, err := netip.ParseAddrPort(strings.TrimSpace(a.String()))
		return ap.Addr().Unmap(), err == nil
	}
	addr, ok := netip.AddrFromSlice(ip)
	return addr.Unmap(), ok
}
