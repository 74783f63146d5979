package targets

import (
	"errors"
	"strings"
)

// InputError is a target selection the user got wrong: a filter value (an account ID that is
// not 12 digits, an OU or account the organization or accounts file does not have) or the
// accounts file itself (a bad row or line, a missing id column, no accounts). Callers tell it
// apart with errors.As from a failure to read the organization (access denied, throttling, no
// network), because the first is fixed on the command line and the second is not: cmd/rollout
// exits 2 for one and 1 for the other. Every error this package returns for what the user gave
// is an *InputError, possibly wrapped; its text does not matter to callers.
type InputError struct {
	// Field is what the user got wrong, named as they wrote it: a flag (--account,
	// --exclude-account, --ou, --exclude-ou, --account-tag, --accounts-file, --shard) or, in an
	// accounts file, a column or key (id, tags, header) or "accounts" for the file as a whole.
	Field string
	// Value is the value given, when there is one.
	Value string
	// File is the accounts file the value is in ("" for flags), and Where the place in it:
	// "row 3" for CSV (the header is row 1, as in a spreadsheet), "line 7 (accounts[2])" for
	// YAML. Both lead the message, the way a compiler names a source position.
	File, Where string
	// Problem says what is wrong.
	Problem string
	// Err is the cause, when another package found the problem (a CSV or YAML parse error, a
	// read error); it stays reachable through errors.Is and errors.As.
	Err error
	// Fix says what to do about it; "" when Problem already says.
	Fix string
}

// Error is "file: where: problem: cause: fix", leaving out the parts that are empty.
func (e *InputError) Error() string {
	parts := make([]string, 0, 5)
	for _, p := range []string{e.File, e.Where, e.Problem} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if e.Err != nil {
		parts = append(parts, e.Err.Error())
	}
	if e.Fix != "" {
		parts = append(parts, e.Fix)
	}
	return strings.Join(parts, ": ")
}

// Unwrap returns the cause, if any.
func (e *InputError) Unwrap() error { return e.Err }

// inField names the flag of an *InputError made by a helper that serves several flags (both
// --ou and --exclude-ou, both --account and --exclude-account); other errors pass through.
func inField(err error, field string) error {
	var ie *InputError
	if errors.As(err, &ie) {
		ie.Field = field
	}
	return err
}

// pick is a if cond, else b.
func pick(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
}
