// Package validate holds the rules every input of byoc-access shares, each written once: what an
// AWS account ID is (AccountID), what AWS accepts as a tag (Tag, Tags), which regions and
// partitions exist (Region, Partition), and how much of a value a message may quote (Quote). They check values
// anywhere along the chain spec → grant → component → stack → account: the component's
// arguments, render's account, the accounts and parameters files, the rollout's flags. A value
// that breaks a rule is an *Error naming the value and the fix; callers that must tell it from
// other failures use errors.As, and add the field or flag the user wrote.
package validate
