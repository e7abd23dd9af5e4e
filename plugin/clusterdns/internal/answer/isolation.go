package answer

// sees reports whether the client may see namespace ns (`isolate`).
// Without `isolate` this is one nil check.
func (l *Lookup) sees(ns string) bool {
	if l.o.Isolation == nil {
		return true
	}
	l.findAudience()
	return l.audience.Sees(l.view, ns)
}

// limited reports whether the client misses some namespaces.
func (l *Lookup) limited() bool {
	if l.o.Isolation == nil {
		return false
	}
	l.findAudience()
	return l.audience.Limited()
}

// findAudience finds what the client sees, once per lookup, on the first
// name that needs it.
func (l *Lookup) findAudience() {
	if !l.audienceFound {
		addr, ok := ClientAddr(l.state.W)
		l.audience = l.view.AudienceOf(l.o.Isolation, addr, ok)
		l.audienceFound = true
	}
}

// hidden answers a name in namespace ns, which the client may not see,
// exactly as a name in a namespace that does not exist; the reason, which
// only the server's operator sees, tells the two apart.
func (l *Lookup) hidden(ns string) Result {
	if _, ok := l.view.Namespaces.Get(ns); !ok {
		return l.nx(ReasonNoNamespace)
	}
	return l.nx(ReasonHidden)
}
