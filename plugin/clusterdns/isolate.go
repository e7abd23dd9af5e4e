package clusterdns

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/dnsname"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
)

// Settings of `isolate`'s unknown line.
const (
	unknownAllow = "allow"
	unknownDeny  = "deny"
)

// isolate reads `isolate`, with an optional block:
//
//	isolate {
//	    shared NAMESPACE...
//	    tenant_label LABEL
//	    unknown allow|deny
//	}
//
// Each client pod then sees its own namespace, the shared ones and those of
// its tenant. Clients that are no known pod see the shared namespaces only,
// unless `unknown allow`.
func (p *stanzaParser) isolate(o option) error {
	if err := argCount(p.c, o.name, o.args, 0, 0); err != nil {
		return err
	}
	iso := &index.Isolation{Shared: make(map[string]struct{})}
	// The block must open on the option's line; without one, the defaults.
	if p.c.NextArg() {
		if p.c.Val() != "{" {
			return p.c.Errf("%s: expected a block, got %q", o.name, p.c.Val())
		}
		if err := p.isolateBlock(o.name, iso); err != nil {
			return err
		}
	}
	p.cfg.isolation = iso
	p.cfg.Isolate = true
	return nil
}

// isolateBlock reads the lines of `isolate`'s block into iso, up to and
// including the closing brace.
func (p *stanzaParser) isolateBlock(opt string, iso *index.Isolation) error {
	seen := map[string]bool{}
	for p.c.Next() {
		name := p.c.Val()
		if name == "}" {
			return nil
		}
		args := p.c.RemainingArgs()
		line := opt + " " + name
		if seen[name] && name != "shared" {
			return p.c.Errf("%s: given twice", line)
		}
		seen[name] = true
		switch name {
		case "shared":
			if err := argCount(p.c, line, args, 1, -1); err != nil {
				return err
			}
			for _, ns := range args {
				if !dnsname.IsDNSLabel(ns) {
					return p.c.Errf("%s: %q is not a namespace name", line, ns)
				}
				iso.Shared[ns] = struct{}{}
			}
		case "tenant_label":
			if err := argCount(p.c, line, args, 1, 1); err != nil {
				return err
			}
			if errs := validation.IsQualifiedName(args[0]); len(errs) > 0 {
				return p.c.Errf("%s: invalid label key %q: %s", line, args[0], strings.Join(errs, "; "))
			}
			iso.Tenants = true
			p.cfg.TenantLabel = args[0]
		case "unknown":
			if err := argCount(p.c, line, args, 1, 1); err != nil {
				return err
			}
			switch args[0] {
			case unknownAllow:
				iso.AllowUnknown = true
			case unknownDeny:
				iso.AllowUnknown = false
			default:
				return p.c.Errf("%s: invalid value %q, must be %s or %s", line, args[0], unknownAllow, unknownDeny)
			}
		default:
			return p.c.Errf("%s: unknown option %q, must be shared, tenant_label or unknown", opt, name)
		}
	}
	return p.c.Errf("%s: block not closed", opt)
}
