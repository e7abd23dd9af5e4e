package dnsname

import "strings"

// MatchZone returns the longest of zones (lower case, fully qualified) that
// name is in or equal to, comparing case-insensitively, or "". Unlike
// plugin.Zones.Matches it allocates nothing, as it runs on every query.
func MatchZone(name string, zones []string) string {
	best := ""
	for _, z := range zones {
		if len(z) <= len(best) || len(name) < len(z) || !strings.EqualFold(name[len(name)-len(z):], z) {
			continue
		}
		if len(name) == len(z) || z == "." || labelBoundary(name, len(name)-len(z)) {
			best = z
		}
	}
	return best
}

// labelBoundary reports whether name[:i] ends in an unescaped dot, so that
// name[i:] starts a label.
func labelBoundary(name string, i int) bool {
	if name[i-1] != '.' {
		return false
	}
	backslashes := 0
	for j := i - 2; j >= 0 && name[j] == '\\'; j-- {
		backslashes++
	}
	return backslashes%2 == 0
}

// SearchPath is the search list the kubelet writes into the resolv.conf of
// a pod in namespace ns (ClusterFirst policy), followed by the host's
// search domains and the empty sentinel autopath wants: the query name as
// given.
func SearchPath(ns, zone string, host []string) []string {
	out := make([]string, 0, 4+len(host))
	if zone == "." {
		out = append(out, ns+".svc.", "svc.", ".")
	} else {
		out = append(out, ns+".svc."+zone, "svc."+zone, zone)
	}
	out = append(out, host...)
	return append(out, "")
}
