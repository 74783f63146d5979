package targets

// Account is one AWS account a rollout may act on, with what the organization says about it.
type Account struct {
	// ID is the 12-digit account ID, the key every other package uses.
	ID string `json:"id"`
	// Name and Email are the organization's, for people reading reports.
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	// Status is the account's Organizations state: ACTIVE, SUSPENDED, PENDING_CLOSURE...
	Status string `json:"status,omitempty"`
	// OUID is the ID of the account's parent (an OU, or the root r-...).
	OUID string `json:"ouId,omitempty"`
	// OUPath is the names from the root down to the account's parent: "Root/Workloads/Prod".
	OUPath string `json:"ouPath,omitempty"`
	// Tags are read only when a filter or WithTags asks for them (one API call per account).
	Tags map[string]string `json:"tags,omitempty"`
	// Management is true for the organization's management account.
	Management bool `json:"management,omitempty"`
	// Params are vendor parameter values for this account only, from an accounts file
	// (CSV columns param:NAME, YAML params:). They never go into JSON: reports and the
	// accounts listing carry accounts, and a parameter may be a secret.
	Params map[string]string `json:"-"`
	// ouChain is the OU IDs from the root down to the account's parent, for recursive filters.
	ouChain []string
}

// Skip is an account the filter selected but the rollout will not act on, and why, so
// reports can say why an expected account was left out.
type Skip struct {
	Account Account `json:"account"`
	// Reason says which filter or state left the account out, naming the flag to change.
	Reason string `json:"reason"`
}

// Result is the outcome of discovery: the accounts to act on and the skipped ones, each in
// account ID order so that runs and reports are reproducible.
type Result struct {
	// Targets are the accounts to act on; never nil, so JSON shows [].
	Targets []Account `json:"targets"`
	// Skipped are the selected accounts left out; never nil.
	Skipped []Skip `json:"skipped"`
}
