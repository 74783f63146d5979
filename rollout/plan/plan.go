package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/byoc-access/byoc-access/iamstate"
	"github.com/byoc-access/byoc-access/iamstate/diff"
	"github.com/byoc-access/byoc-access/iamstate/render"
	"github.com/byoc-access/byoc-access/rollout"
)

// FormatVersion is the plan files' format; a plan of another format is refused.
const FormatVersion = 1

// Plan is a plan's summary, plan.json.
type Plan struct {
	Version int       `json:"version"`
	Created time.Time `json:"created"`
	// Source says what was planned (the vendor or spec file and the rollout's version).
	Source string `json:"source"`
	// Accounts are the planned accounts' IDs, in order; each has DIR/accounts/ID.json.
	Accounts []string `json:"accounts"`
	// Fleet is the IAM-level diff of every account, grouped.
	Fleet *diff.Fleet `json:"fleet"`
	// Digest is a SHA-256 over every account file, in Accounts' order.
	Digest string `json:"digest"`
}

// Account is one account's part of a plan.
type Account struct {
	AccountID string `json:"accountId"`
	Name      string `json:"name,omitempty"`
	Stack     string `json:"stack"`
	// Fingerprint digests the spec, parameters, program version and provider config the
	// account's update would use (rollout's fingerprint, keyed with the passphrase).
	Fingerprint string `json:"fingerprint"`
	// Operations are the engine's planned steps that change something, by URN.
	Operations []Operation `json:"operations"`
	// StateDigest digests the IAM state the stack's state records (its resources' inputs).
	StateDigest string `json:"stateDigest"`
	// LiveDigest digests the account's live IAM (the vendor's roles and policies).
	LiveDigest string `json:"liveDigest"`
	// Diff is the change in IAM terms, from the recorded state to Want.
	Diff *diff.Account `json:"diff"`
	// Want is the IAM state the account has after the update: what up checks it against.
	Want *iamstate.Account `json:"want"`
}

// Operation is one planned step.
type Operation struct {
	Op  string `json:"op"`
	URN string `json:"urn"`
}

// Inputs is what an account's plan is built from.
type Inputs struct {
	AccountID, Name, Stack, Fingerprint string
	// Steps are the preview's steps: their Old inputs are the recorded state.
	Steps []rollout.Step
	// Want is the spec rendered for the account; Live its live IAM read now.
	Want, Live *iamstate.Account
}

// NewAccount builds an account's plan.
func NewAccount(in Inputs) (*Account, error) {
	if len(in.Steps) == 0 {
		return nil, errors.New("the preview reported no resource steps (a Pulumi CLI outside the pinned engine versions gives none): cannot plan")
	}
	have, err := Recorded(in.AccountID, in.Steps)
	if err != nil {
		return nil, fmt.Errorf("account %s: the IAM state its stack records: %w", in.AccountID, err)
	}
	a := &Account{
		AccountID: in.AccountID, Name: in.Name, Stack: in.Stack, Fingerprint: in.Fingerprint,
		Operations: []Operation{}, StateDigest: Digest(have), LiveDigest: Digest(in.Live),
		Diff: diff.Compare(have, in.Want), Want: in.Want,
	}
	for _, s := range in.Steps {
		if s.Op != "same" && s.Op != "read" {
			a.Operations = append(a.Operations, Operation{Op: s.Op, URN: s.URN})
		}
	}
	// The engine runs independent steps in parallel, so its event order varies between runs.
	slices.SortFunc(a.Operations, func(x, y Operation) int { return strings.Compare(x.URN+" "+x.Op, y.URN+" "+y.Op) })
	return a, nil
}

// Recorded is the IAM state a stack's state records, read from a preview's steps: each
// resource's inputs as the last successful update gave them. nil steps (a new stack) record
// nothing.
func Recorded(accountID string, steps []rollout.Step) (*iamstate.Account, error) {
	var resources []render.Resource
	seen := map[string]bool{}
	for _, s := range steps {
		if s.Old == nil || seen[s.URN] {
			continue
		}
		seen[s.URN] = true
		for _, k := range []string{"policy", "assumeRolePolicy"} {
			if s.Old[k] == "[secret]" {
				return nil, fmt.Errorf("%s holds a secret value (a secret parameter), which a preview does not show: no IAM-level plan", urnName(s.URN))
			}
		}
		resources = append(resources, render.Resource{Type: s.Type, Name: urnName(s.URN), Inputs: s.Old})
	}
	return render.FromResources(accountID, resources)
}

// urnName is the resource's name, the URN's last part.
func urnName(urn string) string {
	return urn[strings.LastIndex(urn, "::")+2:]
}

// Digest is a short digest of an IAM state in canonical form (documents as canonical
// statements), so states IAM treats as equal digest alike. nil digests as an empty state.
func Digest(a *iamstate.Account) string {
	if a == nil {
		a = &iamstate.Account{}
	}
	type role struct {
		iamstate.Role
		TrustPolicy    []string            `json:"trustPolicy"`
		InlinePolicies map[string][]string `json:"inlinePolicies"`
	}
	type policy struct {
		iamstate.Policy
		Document []string `json:"document"`
	}
	c := struct {
		Roles    map[string]role   `json:"roles"`
		Policies map[string]policy `json:"policies"`
	}{map[string]role{}, map[string]policy{}}
	for n, r := range a.Roles {
		cr := role{Role: r, TrustPolicy: iamstate.CanonicalStatements(r.TrustPolicy), InlinePolicies: map[string][]string{}}
		cr.Role.TrustPolicy, cr.Role.InlinePolicies = nil, nil
		slices.Sort(cr.AttachedPolicies)
		for k, d := range r.InlinePolicies {
			cr.InlinePolicies[k] = iamstate.CanonicalStatements(d)
		}
		c.Roles[n] = cr
	}
	for n, p := range a.Policies {
		cp := policy{Policy: p, Document: iamstate.CanonicalStatements(p.Document)}
		cp.Policy.Document = nil
		c.Policies[n] = cp
	}
	b, _ := json.Marshal(c)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// Write stores a plan in dir: plan.json, accounts/ID.json for each account and plan.md (the
// fleet diff for a pull-request comment). It fills in the summary's accounts, fleet and digest.
func Write(dir string, p *Plan, accounts []*Account) error {
	if err := os.MkdirAll(filepath.Join(dir, "accounts"), 0o755); err != nil {
		return fmt.Errorf("plan %s: %w", dir, err)
	}
	p.Version, p.Accounts = FormatVersion, []string{}
	var diffs []*diff.Account
	h := sha256.New()
	for _, a := range accounts {
		b, err := json.MarshalIndent(a, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(accountFile(dir, a.AccountID), append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("plan %s: %w", dir, err)
		}
		fmt.Fprintf(h, "%s\n%d\n", a.AccountID, len(b))
		h.Write(b)
		p.Accounts = append(p.Accounts, a.AccountID)
		diffs = append(diffs, a.Diff)
	}
	p.Fleet = diff.Summarize(diffs)
	p.Digest = hex.EncodeToString(h.Sum(nil))
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "plan.json"), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("plan %s: %w", dir, err)
	}
	f, err := os.Create(filepath.Join(dir, "plan.md"))
	if err != nil {
		return fmt.Errorf("plan %s: %w", dir, err)
	}
	defer f.Close()
	fmt.Fprintf(f, "Plan of %s, %s, digest `%s`\n\n", p.Source, p.Created.UTC().Format(time.RFC3339), p.Digest[:16])
	return diff.WriteMarkdown(f, p.Fleet)
}

func accountFile(dir, id string) string {
	return filepath.Join(dir, "accounts", url.PathEscape(id)+".json")
}

// InvalidError says a plan directory cannot be used as it is: missing, of another format, or
// edited since it was written (its digest does not match).
type InvalidError struct {
	Dir    string
	Reason string
}

func (e *InvalidError) Error() string { return fmt.Sprintf("plan %s: %s", e.Dir, e.Reason) }

// Read loads a plan and its accounts, checking the digest.
func Read(dir string) (*Plan, map[string]*Account, error) {
	b, err := os.ReadFile(filepath.Join(dir, "plan.json"))
	if err != nil {
		return nil, nil, &InvalidError{dir, fmt.Sprintf("no plan.json (write one with rollout plan --out %s): %v", dir, err)}
	}
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, nil, &InvalidError{dir, "plan.json: " + err.Error()}
	}
	if p.Version != FormatVersion {
		return nil, nil, &InvalidError{dir, fmt.Sprintf("plan.json has format version %d, this rollout reads %d: plan again", p.Version, FormatVersion)}
	}
	accounts := map[string]*Account{}
	h := sha256.New()
	for _, id := range p.Accounts {
		b, err := os.ReadFile(accountFile(dir, id))
		if err != nil {
			return nil, nil, &InvalidError{dir, fmt.Sprintf("account %s: %v", id, err)}
		}
		b = []byte(strings.TrimSuffix(string(b), "\n"))
		fmt.Fprintf(h, "%s\n%d\n", id, len(b))
		h.Write(b)
		var a Account
		if err := json.Unmarshal(b, &a); err != nil || a.AccountID != id {
			return nil, nil, &InvalidError{dir, fmt.Sprintf("accounts/%s.json is not that account's plan", id)}
		}
		accounts[id] = &a
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != p.Digest {
		return nil, nil, &InvalidError{dir, "the account files do not match the digest in plan.json: the plan was edited after it was written; plan again"}
	}
	return &p, accounts, nil
}

// StaleError says a plan is older than the limit.
type StaleError struct {
	Created time.Time
	MaxAge  time.Duration
}

func (e *StaleError) Error() string {
	return fmt.Sprintf("the plan was written %s (%s ago), more than --plan-max-age %s: plan again and have it approved",
		e.Created.UTC().Format(time.RFC3339), time.Since(e.Created).Round(time.Second), e.MaxAge)
}

// CheckAge refuses a plan older than maxAge; zero means no limit.
func (p *Plan) CheckAge(maxAge time.Duration, now time.Time) error {
	if maxAge > 0 && now.Sub(p.Created) > maxAge {
		return &StaleError{Created: p.Created, MaxAge: maxAge}
	}
	return nil
}

// RefusedError says an account was not applied because what it would do now is not what the
// plan says (or it is not in the plan); nothing was changed in it.
type RefusedError struct {
	AccountID string
	Reasons   []string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("account %s refused, nothing changed: %s", e.AccountID, strings.Join(e.Reasons, "; "))
}

// IsRefused says err is, or wraps, a *RefusedError.
func IsRefused(err error) bool { return errors.As(err, new(*RefusedError)) }

// NotInPlan is the refusal of an account the plan does not list.
func NotInPlan(accountID string) *RefusedError {
	return &RefusedError{AccountID: accountID, Reasons: []string{"the account is not in the plan (it joined the targets after the plan was written): plan again to include it"}}
}

// Check compares what an account would do now with its plan; a *RefusedError names every
// difference, nil means apply.
func Check(planned, now *Account) error {
	var reasons []string
	if planned.Fingerprint != now.Fingerprint {
		reasons = append(reasons, "its spec, parameters, program or provider config changed since the plan (the fingerprint differs)")
	}
	if planned.StateDigest != now.StateDigest {
		reasons = append(reasons, "its stack's state changed since the plan (another update ran)")
	}
	if planned.LiveDigest != now.LiveDigest {
		reasons = append(reasons, "its live IAM changed since the plan (a change made outside byoc-access)")
	}
	if !slices.Equal(planned.Operations, now.Operations) {
		reasons = append(reasons, fmt.Sprintf("the engine would now do %s where the plan says %s", opsText(now.Operations), opsText(planned.Operations)))
	}
	if Digest(planned.Want) != Digest(now.Want) {
		reasons = append(reasons, "the IAM it would grant differs from the plan's")
	}
	if len(reasons) == 0 {
		return nil
	}
	return &RefusedError{AccountID: planned.AccountID, Reasons: reasons}
}

func opsText(ops []Operation) string {
	if len(ops) == 0 {
		return "nothing"
	}
	counts := map[string]int{}
	for _, o := range ops {
		counts[o.Op]++
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
	}
	return strings.Join(parts, ", ")
}
