package rollout

import (
	"context"

	"github.com/byoc-access/byoc-access/rollout/targets"
)

// Handoff is what the customer sends the vendor for one account: where the vendor's roles are
// and the external ID it must present when assuming them.
type Handoff struct {
	// AccountID is the account the roles are in.
	AccountID string `json:"accountId"`
	// Name is the account's name in the organization.
	Name string `json:"name,omitempty"`
	// OUPath is the account's place in the organization, e.g. Root/Workloads.
	OUPath string `json:"ouPath,omitempty"`
	// RoleArns maps each vendor role name to its ARN.
	RoleArns map[string]string `json:"roleArns"`
	// ExternalID is the external ID the vendor must present, or "" when the spec has none.
	ExternalID string `json:"externalId,omitempty"`
}

// Handoff reads every account's role ARNs and external ID from its stack's outputs, without
// running the program. The handoffs cover the accounts whose stacks export role ARNs; the
// report says what happened to each account, so callers can name those with nothing to hand
// off yet (never deployed, or destroyed).
func (r *Runner) Handoff(ctx context.Context, accounts []targets.Account) ([]Handoff, *Report, error) {
	rep, err := r.Status(ctx, accounts)
	if err != nil {
		return nil, nil, err
	}
	var out []Handoff
	for _, res := range rep.Results {
		if res.Status != StatusSucceeded || len(res.RoleArns) == 0 {
			continue
		}
		out = append(out, Handoff{
			AccountID:  res.Account.ID,
			Name:       res.Account.Name,
			OUPath:     res.Account.OUPath,
			RoleArns:   res.RoleArns,
			ExternalID: res.ExternalID,
		})
	}
	return out, rep, nil
}
