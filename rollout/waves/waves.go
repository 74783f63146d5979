package waves

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

// SelectorKind is how a wave chooses its accounts.
type SelectorKind string

// Selector kinds, as written before the colon ("ou:Root/Canary"); a count, a share and
// "rest" are written alone.
const (
	SelectCount    SelectorKind = "count"
	SelectPercent  SelectorKind = "percent"
	SelectRest     SelectorKind = "rest"
	SelectOU       SelectorKind = "ou"
	SelectTag      SelectorKind = "tag"
	SelectAccounts SelectorKind = "accounts"
)

// Selector chooses a wave's accounts among those no earlier wave took.
type Selector struct {
	// Kind says how.
	Kind SelectorKind
	// Count is the number of accounts (SelectCount).
	Count int
	// Percent is the share of all the run's accounts, rounded up (SelectPercent).
	Percent float64
	// OU is an OU path, the OU and those below it (SelectOU).
	OU string
	// TagKey and TagValue select accounts with that Organizations tag (SelectTag).
	TagKey, TagValue string
	// Accounts are account IDs (SelectAccounts).
	Accounts []string
	// Text is the selector as written, for messages.
	Text string
}

// ParseSelector reads one wave selector: N, P%, rest, ou:PATH, tag:KEY=VALUE or
// accounts:ID,ID.
func ParseSelector(s string) (Selector, error) {
	s = strings.TrimSpace(s)
	sel := Selector{Text: s}
	kind, arg, hasArg := strings.Cut(s, ":")
	switch {
	case s == "":
		return sel, fmt.Errorf("an empty wave: want N, P%%, rest, ou:PATH, tag:KEY=VALUE or accounts:ID,ID")
	case s == "rest":
		sel.Kind = SelectRest
	case !hasArg && strings.HasSuffix(s, "%"):
		p, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
		if err != nil || p <= 0 || p > 100 {
			return sel, fmt.Errorf("wave %q: want a share above 0%% and at most 100%%, such as 10%%", s)
		}
		sel.Kind, sel.Percent = SelectPercent, p
	case !hasArg:
		n, err := strconv.Atoi(s)
		if err != nil {
			return sel, fmt.Errorf("wave %q: want N, P%%, rest, ou:PATH, tag:KEY=VALUE or accounts:ID,ID", s)
		}
		if n < 1 {
			return sel, fmt.Errorf("wave %q: want 1 or more accounts", s)
		}
		sel.Kind, sel.Count = SelectCount, n
	case kind == "ou":
		if strings.HasPrefix(arg, "ou-") || strings.HasPrefix(arg, "r-") || strings.Trim(arg, "/") == "" {
			return sel, fmt.Errorf("wave %q: want an OU path such as ou:Root/Workloads/Canary", s)
		}
		sel.Kind, sel.OU = SelectOU, ouPath(arg)
	case kind == "tag":
		k, v, ok := strings.Cut(arg, "=")
		if !ok || k == "" {
			return sel, fmt.Errorf("wave %q: want tag:KEY=VALUE", s)
		}
		sel.Kind, sel.TagKey, sel.TagValue = SelectTag, k, v
	case kind == "accounts" || kind == "account":
		for _, id := range strings.Split(arg, ",") {
			id = strings.TrimSpace(id)
			if len(id) != 12 || strings.Trim(id, "0123456789") != "" {
				return sel, fmt.Errorf("wave %q: %q is not a 12-digit account ID", s, id)
			}
			sel.Accounts = append(sel.Accounts, id)
		}
		sel.Kind = SelectAccounts
	default:
		return sel, fmt.Errorf("wave %q: unknown kind %q: want N, P%%, rest, ou:PATH, tag:KEY=VALUE or accounts:ID,ID", s, kind)
	}
	return sel, nil
}

// ouPath writes an OU path from the root, as targets.Account.OUPath has it.
func ouPath(p string) string {
	p = strings.Trim(p, "/")
	if p != "Root" && !strings.HasPrefix(p, "Root/") {
		p = "Root/" + p
	}
	return p
}

// NeedsTags says whether a selector reads the accounts' tags.
func (s Selector) NeedsTags() bool { return s.Kind == SelectTag }

func (s Selector) takes(a targets.Account) bool {
	switch s.Kind {
	case SelectOU:
		return a.OUPath == s.OU || strings.HasPrefix(a.OUPath, s.OU+"/")
	case SelectTag:
		v, ok := a.Tags[s.TagKey]
		return ok && v == s.TagValue
	case SelectAccounts:
		return slices.Contains(s.Accounts, a.ID)
	default:
		return true
	}
}

// Spec is one wave as the user gives it: its selector and its own gate settings.
type Spec struct {
	// Name names the wave in reports; default its number.
	Name string
	// Select chooses its accounts.
	Select Selector
	// Gates are its gates' settings.
	Gates Gates
}

// Gates are a wave's gate settings, checked after it is deployed, in this order.
type Gates struct {
	// MaxFailures is the wave's own failure tolerance (default none): more failed accounts
	// fail the gate "failures".
	MaxFailures rollout.FailureTolerance
	// Verify compares each of the wave's accounts' live IAM with the spec (gate "verify").
	Verify bool
	// Wait is the bake time before the command runs (gate "wait"); interrupting it halts.
	Wait time.Duration
	// Command is run with the wave's account IDs as its last arguments; exit 0 passes
	// (gate "command"). Empty for none.
	Command []string
	// CommandTimeout bounds the command; default 10 minutes.
	CommandTimeout time.Duration
}

// Wave is one wave of a run: its spec and the accounts it took.
type Wave struct {
	// Number counts from 1.
	Number int
	// Name is the spec's name, or the number.
	Name string
	// Spec is what the user gave.
	Spec Spec
	// Accounts are the wave's accounts, sorted by ID.
	Accounts []targets.Account
}

// Label is "wave 2" or "wave 2 (canary)", for messages.
func (w Wave) Label() string {
	if w.Name == "" || w.Name == strconv.Itoa(w.Number) {
		return fmt.Sprintf("wave %d", w.Number)
	}
	return fmt.Sprintf("wave %d (%s)", w.Number, w.Name)
}

// Split assigns the accounts to the waves, in order: each wave takes, among the accounts no
// earlier wave took, those its selector chooses (a count or a share: the first ones by
// account ID, so the same accounts on every run). Every account must land in a wave, and every
// wave must get one: otherwise the error says which, before anything is deployed.
func Split(specs []Spec, accounts []targets.Account) ([]Wave, error) {
	if len(specs) == 0 {
		return nil, fmt.Errorf("no waves given")
	}
	left := slices.Clone(accounts)
	slices.SortFunc(left, func(a, b targets.Account) int { return strings.Compare(a.ID, b.ID) })
	known := map[string]bool{}
	for _, a := range accounts {
		known[a.ID] = true
	}
	total := len(accounts)
	var out []Wave
	for i, s := range specs {
		w := Wave{Number: i + 1, Name: s.Name, Spec: s}
		if w.Name == "" {
			w.Name = strconv.Itoa(w.Number)
		}
		if s.Select.Kind == SelectRest && i != len(specs)-1 {
			return nil, fmt.Errorf("%s: rest must be the last wave", w.Label())
		}
		if s.Select.Kind == SelectAccounts {
			for _, id := range s.Select.Accounts {
				if !known[id] {
					return nil, fmt.Errorf("%s (%s): account %s is not among the run's target accounts", w.Label(), s.Select.Text, id)
				}
			}
		}
		limit := len(left)
		switch s.Select.Kind {
		case SelectCount:
			limit = s.Select.Count
		case SelectPercent:
			limit = int(math.Ceil(s.Select.Percent / 100 * float64(total)))
		}
		var rest []targets.Account
		for _, a := range left {
			if len(w.Accounts) < limit && s.Select.takes(a) {
				w.Accounts = append(w.Accounts, a)
			} else {
				rest = append(rest, a)
			}
		}
		left = rest
		if len(w.Accounts) == 0 {
			return nil, fmt.Errorf("%s (%s) selects no account that an earlier wave did not take", w.Label(), s.Select.Text)
		}
		out = append(out, w)
	}
	if len(left) > 0 {
		ids := make([]string, 0, 3)
		for _, a := range left[:min(3, len(left))] {
			ids = append(ids, a.ID)
		}
		return nil, fmt.Errorf("%d target accounts are in no wave (%s...): add a last wave rest, or narrow the targets", len(left), strings.Join(ids, ", "))
	}
	return out, nil
}
