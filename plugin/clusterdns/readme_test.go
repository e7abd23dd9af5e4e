package clusterdns

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/caddy/caddyfile"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
)

// readmeCorefiles returns the text of every "~~~ corefile" block of README.md.
func readmeCorefiles(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	var cur []string
	in := false
	for line := range strings.SplitSeq(string(raw), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case !in && trimmed == "~~~ corefile":
			in, cur = true, nil
		case in && trimmed == "~~~":
			in = false
			blocks = append(blocks, strings.Join(cur, "\n"))
		case in:
			cur = append(cur, line)
		}
	}
	if in {
		t.Fatal("README.md: a corefile block is not closed")
	}
	return blocks
}

// TestReadmeCorefiles parses every Corefile example of the README as
// CoreDNS would, and every clusterdns stanza in it with our parse. An
// example that names an objects_file passes even if the file does not
// exist: parse does not open it.
func TestReadmeCorefiles(t *testing.T) {
	blocks := readmeCorefiles(t)
	if len(blocks) == 0 {
		t.Fatal("README.md has no corefile examples")
	}
	directives := append(slices.Clone(dnsserver.Directives), pluginName)
	for i, text := range blocks {
		t.Run("example "+strconv.Itoa(i+1), func(t *testing.T) {
			sbs, err := caddyfile.Parse("README.md", strings.NewReader(text), directives)
			if err != nil {
				t.Fatalf("not a valid Corefile: %v\n%s", err, text)
			}
			stanzas := 0
			for _, sb := range sbs {
				tokens := sb.Tokens[pluginName]
				if len(tokens) == 0 {
					continue
				}
				stanzas++
				c := caddy.NewTestController("dns", "")
				c.Dispenser = caddyfile.NewDispenserTokens("README.md", tokens)
				c.ServerBlockKeys = sb.Keys
				if _, err := parse(c); err != nil {
					t.Errorf("server block %v: %v\n%s", sb.Keys, err, text)
				}
			}
			if stanzas == 0 {
				t.Errorf("example has no %s stanza:\n%s", pluginName, text)
			}
		})
	}
}

// TestReadmeMetrics checks the README lists exactly the metrics defined by
// metrics.go (the answer path) and internal/source/metrics.go (the sources
// and the index), by their full names.
func TestReadmeMetrics(t *testing.T) {
	var defined []string
	for _, path := range []string{"metrics.go", "internal/source/metrics.go"} {
		defined = append(defined, definedMetrics(t, path)...)
	}
	if len(defined) == 0 {
		t.Fatal("no metrics found in metrics.go")
	}

	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	prefix := plugin.Namespace + "_" + pluginName + "_"
	listed := regexp.MustCompile("(?m)^\\* `("+regexp.QuoteMeta(prefix)+"[a-z0-9_]+)").FindAllStringSubmatch(string(raw), -1)
	var names []string
	for _, m := range listed {
		names = append(names, m[1])
	}
	slices.Sort(defined)
	slices.Sort(names)
	if !slices.Equal(defined, names) {
		t.Errorf("README.md lists metrics %v, the code defines %v", names, defined)
	}
}

// definedMetrics returns the full names of the metrics a Go file defines
// with prometheus' *Opts literals.
func definedMetrics(t *testing.T, path string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var defined []string
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.CompositeLit)
		if !ok {
			return true
		}
		sel, ok := lit.Type.(*ast.SelectorExpr)
		if !ok || !strings.HasSuffix(sel.Sel.Name, "Opts") {
			return true
		}
		for _, e := range lit.Elts {
			kv, ok := e.(*ast.KeyValueExpr)
			if !ok {
				continue
			}
			key, ok := kv.Key.(*ast.Ident)
			if !ok || key.Name != "Name" {
				continue
			}
			val, ok := kv.Value.(*ast.BasicLit)
			if !ok || val.Kind != token.STRING {
				t.Fatalf("%s: a metric name is not a string literal", path)
			}
			name, _ := strconv.Unquote(val.Value)
			defined = append(defined, plugin.Namespace+"_"+pluginName+"_"+name)
		}
		return true
	})
	return defined
}

// TestReadmeOptions checks the Syntax section names every option parse
// knows, so a new option cannot go undocumented.
func TestReadmeOptions(t *testing.T) {
	options := slices.Sorted(maps.Keys(stanzaOptions))
	if len(options) == 0 {
		t.Fatal("no options in stanzaOptions")
	}

	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	start := strings.Index(readme, "\n## Syntax\n")
	end := strings.Index(readme, "\n## Records\n")
	if start < 0 || end < start {
		t.Fatal("README.md: no Syntax section followed by Records")
	}
	syntax := readme[start:end]
	for _, opt := range options {
		// An option is documented by a bullet of its own, or, if it is
		// rejected, by a paragraph that names it and says so.
		if strings.Contains(syntax, "\n* `"+opt+"`") || strings.Contains(syntax, "\n* `"+opt+" ") {
			continue
		}
		documented := false
		for para := range strings.SplitSeq(syntax, "\n\n") {
			if strings.Contains(para, "`"+opt+"`") && strings.Contains(para, "not supported") {
				documented = true
			}
		}
		if !documented {
			t.Errorf("README.md Syntax does not document option %q", opt)
		}
	}
}
