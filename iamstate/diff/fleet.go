package diff

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// AccountPlaceholder stands for each account's own ID in a fleet's grouped lines, so that one
// change made in many accounts reads as one group.
const AccountPlaceholder = "{account}"

// Fleet is many accounts' diffs grouped by what changes.
type Fleet struct {
	// Accounts counts every account compared; Unchanged those with no change.
	Accounts  int `json:"accounts"`
	Unchanged int `json:"unchanged"`
	// Groups are the accounts with the same change, the largest group first.
	Groups []Group `json:"groups"`
}

// Group is accounts whose diffs are the same once each account's ID is AccountPlaceholder.
type Group struct {
	Accounts []string `json:"accounts"`
	Lines    []Line   `json:"lines"`
}

// Summarize groups accounts' diffs; an empty diff counts as unchanged.
func Summarize(accounts []*Account) *Fleet {
	f := &Fleet{Accounts: len(accounts), Groups: []Group{}}
	index := map[string]int{}
	for _, a := range accounts {
		if a.Empty() {
			f.Unchanged++
			continue
		}
		lines := make([]Line, len(a.Lines))
		keys := make([]string, len(a.Lines))
		for i, l := range a.Lines {
			l.Resource = strings.ReplaceAll(l.Resource, a.AccountID, AccountPlaceholder)
			l.Item = strings.ReplaceAll(l.Item, a.AccountID, AccountPlaceholder)
			lines[i], keys[i] = l, l.String()
		}
		k := strings.Join(keys, "\n")
		i, ok := index[k]
		if !ok {
			i = len(f.Groups)
			index[k] = i
			f.Groups = append(f.Groups, Group{Lines: lines})
		}
		f.Groups[i].Accounts = append(f.Groups[i].Accounts, a.AccountID)
	}
	for i := range f.Groups {
		slices.Sort(f.Groups[i].Accounts)
	}
	slices.SortStableFunc(f.Groups, func(a, b Group) int { return len(b.Accounts) - len(a.Accounts) })
	return f
}

// String is the fleet in one line: "812 unchanged; 40: +action s3:PutBucketPolicy (policy/X); 3: +role R".
func (f *Fleet) String() string {
	parts := []string{fmt.Sprintf("%d unchanged", f.Unchanged)}
	for _, g := range f.Groups {
		parts = append(parts, fmt.Sprintf("%d: %s", len(g.Accounts), g.brief()))
	}
	return strings.Join(parts, "; ")
}

// brief names a group's change in a few words: its first lines, then how many more.
func (g Group) brief() string {
	const shown = 3
	var out []string
	for i, l := range g.Lines {
		if i == shown {
			out = append(out, fmt.Sprintf("and %d more", len(g.Lines)-shown))
			break
		}
		s := string(l.Op) + l.What
		if l.Item != "" && len(l.Item) <= 120 {
			s += " " + l.Item
		}
		out = append(out, s+" ("+l.Resource+")")
	}
	return strings.Join(out, ", ")
}

// Flagged counts the lines lint would flag, over all accounts.
func (f *Fleet) Flagged() int {
	n := 0
	for _, g := range f.Groups {
		for _, l := range g.Lines {
			if l.Flag != "" {
				n += len(g.Accounts)
			}
		}
	}
	return n
}

// WriteText prints the fleet summary and each group's accounts and lines.
func WriteText(w io.Writer, f *Fleet) error {
	var b strings.Builder
	fmt.Fprintf(&b, "IAM changes in %d accounts: %s\n", f.Accounts, f.String())
	for _, g := range f.Groups {
		fmt.Fprintf(&b, "\n%d accounts: %s\n", len(g.Accounts), strings.Join(g.Accounts, ", "))
		for _, l := range g.Lines {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Markdown limits keep a plan within a pull-request comment (65,536 characters).
const (
	mdAccounts = 20
	mdLines    = 150
)

// WriteMarkdown prints the fleet for a pull-request comment: the summary, then each group as a
// diff block; long account lists and groups are cut with a count of what was left out.
func WriteMarkdown(w io.Writer, f *Fleet) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### IAM changes\n\n%d accounts: **%d unchanged**", f.Accounts, f.Unchanged)
	for _, g := range f.Groups {
		fmt.Fprintf(&b, ", **%d** changed as below", len(g.Accounts))
	}
	if n := f.Flagged(); n > 0 {
		fmt.Fprintf(&b, ". :warning: %d expansions lint would flag are marked `[!]`", n)
	}
	b.WriteString(".\n")
	for i, g := range f.Groups {
		ids := g.Accounts
		more := ""
		if len(ids) > mdAccounts {
			more = fmt.Sprintf(" and %d more", len(ids)-mdAccounts)
			ids = ids[:mdAccounts]
		}
		fmt.Fprintf(&b, "\n#### Change %d: %d accounts\n\n`%s`%s\n\n```diff\n", i+1, len(g.Accounts), strings.Join(ids, "`, `"), more)
		for j, l := range g.Lines {
			if j == mdLines {
				fmt.Fprintf(&b, "# ... %d more lines: see plan.json\n", len(g.Lines)-mdLines)
				break
			}
			op := string(l.Op)
			if l.Op == Changed {
				op = "!"
			}
			s := fmt.Sprintf("%s %s %s %s", op, l.Resource, l.What, l.Item)
			if l.Flag != "" {
				s += "  [! " + l.Flag + "]"
			}
			b.WriteString(strings.TrimRight(s, " ") + "\n")
		}
		b.WriteString("```\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
