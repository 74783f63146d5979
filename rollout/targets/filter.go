package targets

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/byoc-access/byoc-access/internal/validate"
)

// Filter narrows the accounts of an organization (Discover) or of an accounts file
// (ApplyFilter). The zero Filter selects every ACTIVE account but the management account.
//
// OUs and Accounts select (their union; every account when both are empty), AccountTags then
// keeps the selected accounts that carry all of its tags, and the exclusions, the management
// account and accounts that are not ACTIVE are reported as skipped rather than dropped, so a
// person can see why an account they expected is not acted on.
type Filter struct {
	// OUs selects accounts in these OUs or any OU below them: IDs (ou-..., or the root r-...)
	// or paths from the root ("Root/Workloads/Prod"; "Workloads/Prod" means the same).
	OUs []string
	// Accounts selects these account IDs; each must be in the organization (or the file).
	Accounts []string
	// AccountTags keeps accounts that carry every one of these tags with these values.
	AccountTags map[string]string
	// ExcludeAccounts skips these account IDs.
	ExcludeAccounts []string
	// ExcludeOUs skips accounts in these OUs or any OU below them (IDs or paths, as OUs).
	ExcludeOUs []string
	// IncludeManagement acts on the management account too; it is skipped by default
	// because granting a vendor access there reaches the whole organization.
	IncludeManagement bool
}

// ValidateAccountID checks that id is an AWS account ID (12 digits), so that a typo is caught
// before it reaches an API call or a role ARN. The rule is validate.AccountID's; this names no
// flag (Field is "account ID"), and callers that know the flag set it.
func ValidateAccountID(id string) error {
	var bad *validate.Error
	if !errors.As(validate.AccountID(id), &bad) {
		return nil
	}
	return &InputError{Field: bad.Rule, Value: id, Problem: fmt.Sprintf("%s %q", bad.Rule, id), Fix: bad.Fix}
}

// Validate checks the filter's own values, so that bad flags fail before any API call.
func (f Filter) Validate() error {
	for i, id := range append(append([]string{}, f.Accounts...), f.ExcludeAccounts...) {
		if err := ValidateAccountID(id); err != nil {
			return inField(err, pick(i < len(f.Accounts), "--account", "--exclude-account"))
		}
	}
	for i, ou := range append(append([]string{}, f.OUs...), f.ExcludeOUs...) {
		if strings.Trim(strings.TrimSpace(ou), "/") == "" {
			return &InputError{Field: pick(i < len(f.OUs), "--ou", "--exclude-ou"), Value: ou,
				Problem: "an empty OU was given", Fix: "use an OU ID (ou-...) or a path such as Root/Workloads"}
		}
	}
	for k, v := range f.AccountTags {
		if strings.TrimSpace(k) == "" {
			return &InputError{Field: "--account-tag", Value: k + "=" + v, Problem: "an account tag filter needs a key", Fix: "key=value"}
		}
	}
	return nil
}

// normalizePath writes an OU path from the root, so that "Workloads/Prod", "Root/Workloads/Prod"
// and "Root/Workloads/Prod/" compare equal.
func normalizePath(p string) string {
	p = strings.Trim(strings.TrimSpace(p), "/")
	if p == "Root" || strings.HasPrefix(p, "Root/") {
		return p
	}
	if p == "" {
		return "Root"
	}
	return "Root/" + p
}

// selected keeps the accounts that OUs and Accounts select (all when both are empty), before
// tags and exclusions, so that tags are read only for them.
func selected(all []Account, f Filter, inOU func(Account, map[string]bool) bool, include map[string]bool) []Account {
	wanted := map[string]bool{}
	for _, id := range f.Accounts {
		wanted[id] = true
	}
	everything := len(include) == 0 && len(wanted) == 0
	out := []Account{}
	for _, a := range all {
		if everything || wanted[a.ID] || (len(include) > 0 && inOU(a, include)) {
			out = append(out, a)
		}
	}
	return out
}

// classify applies the tag filter to the selected accounts and splits them into targets and
// skipped accounts.
func classify(accounts []Account, f Filter, inOU func(Account, map[string]bool) bool, exclude map[string]bool) Result {
	excluded := map[string]bool{}
	for _, id := range f.ExcludeAccounts {
		excluded[id] = true
	}
	res := Result{Targets: []Account{}, Skipped: []Skip{}}
	for _, a := range accounts {
		if !hasTags(a, f.AccountTags) {
			continue
		}
		switch {
		case excluded[a.ID]:
			res.Skipped = append(res.Skipped, Skip{Account: a, Reason: "excluded by --exclude-account"})
		case len(exclude) > 0 && inOU(a, exclude):
			res.Skipped = append(res.Skipped, Skip{Account: a, Reason: "excluded by --exclude-ou"})
		case a.Management && !f.IncludeManagement:
			res.Skipped = append(res.Skipped, Skip{Account: a, Reason: "management account (pass --include-management to act on it)"})
		case a.Status != "" && a.Status != string(types.AccountStateActive):
			res.Skipped = append(res.Skipped, Skip{Account: a, Reason: "account is " + a.Status})
		default:
			res.Targets = append(res.Targets, a)
		}
	}
	return res
}

func hasTags(a Account, want map[string]string) bool {
	for k, v := range want {
		if got, ok := a.Tags[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// ApplyFilter applies a filter to accounts that came from a file. Without the organization
// there are no OU IDs and no OU tree: OUs match by OU path prefix ("Root/Workloads" selects
// "Root/Workloads/Prod"), and an OU or account the filter names must be in the file, so that
// a typo fails instead of silently selecting or excluding nothing.
func ApplyFilter(accounts []Account, f Filter) (Result, error) {
	if err := f.Validate(); err != nil {
		return Result{}, err
	}
	inFile := map[string]bool{}
	for _, a := range accounts {
		inFile[a.ID] = true
	}
	for _, id := range f.Accounts {
		if !inFile[id] {
			return Result{}, &InputError{Field: "--account", Value: id, Problem: fmt.Sprintf("account %s is not in the accounts file", id), Fix: "check --account"}
		}
	}
	under := func(a Account, prefix string) bool {
		p := normalizePath(a.OUPath)
		return p == prefix || strings.HasPrefix(p, prefix+"/")
	}
	paths := func(refs []string) (map[string]bool, error) {
		out := map[string]bool{}
		for _, ref := range refs {
			if id := strings.TrimSpace(ref); strings.HasPrefix(id, "ou-") || strings.HasPrefix(id, "r-") {
				return nil, &InputError{Field: "--ou", Value: ref, Problem: fmt.Sprintf("OU %q", ref), Fix: "an accounts file has no OU IDs: give the OU's path, e.g. Root/Workloads"}
			}
			p := normalizePath(ref)
			found := false
			for _, a := range accounts {
				if under(a, p) {
					found = true
					break
				}
			}
			if !found {
				return nil, &InputError{Field: "--ou", Value: ref, Problem: fmt.Sprintf("unknown OU %q", ref), Fix: "no account in the accounts file is in it (check ou_path/ouPath)"}
			}
			out[p] = true
		}
		return out, nil
	}
	include, err := paths(f.OUs)
	if err != nil {
		return Result{}, inField(err, "--ou")
	}
	exclude, err := paths(f.ExcludeOUs)
	if err != nil {
		return Result{}, inField(err, "--exclude-ou")
	}
	inOU := func(a Account, ous map[string]bool) bool {
		for p := range ous {
			if under(a, p) {
				return true
			}
		}
		return false
	}
	sorted := append([]Account(nil), accounts...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })
	return classify(selected(sorted, f, inOU, include), f, inOU, exclude), nil
}
