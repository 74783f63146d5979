package vendors

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/byoc-access/byoc-access/internal/validate"
)

var (
	// externalIDPattern is STS's charset for sts:ExternalId; its length is 2 to 1224.
	externalIDPattern = regexp.MustCompile(`^[\w+=,.@:/-]*$`)
	arnPattern        = regexp.MustCompile(`^arn:aws[a-zA-Z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}|aws)?:.+$`)
)

// ValidateExternalID checks an external ID against STS's rules.
func ValidateExternalID(id string) error {
	if len(id) < 2 || len(id) > 1224 {
		return fmt.Errorf("an external ID must be 2 to 1224 characters long, got %d", len(id))
	}
	if !externalIDPattern.MatchString(id) {
		return fmt.Errorf("an external ID may contain only letters, digits and +=,.@:/-_")
	}
	return nil
}

// ParamError is a bad parameter value: it names the parameter and says how to fix it.
type ParamError struct {
	Vendor string
	Param  string
	Err    error
}

func (e *ParamError) Error() string {
	return fmt.Sprintf("vendor %s: parameter %q: %v", e.Vendor, e.Param, e.Err)
}

func (e *ParamError) Unwrap() error { return e.Err }

// ResolveParams applies defaults, coerces values given as strings (from --param key=value or
// stack config) to the declared types, and validates every value. Unknown names are errors
// so that a typo never silently falls back to a default.
func (s *VendorSpec) ResolveParams(given map[string]any) (map[string]any, error) {
	return s.resolveParams(given, nil)
}

// CheckParams validates given values as ResolveParams does, except that the parameters named
// in later may be missing although required: their values come per account (from a
// parameters file, a tag or a command) and are checked when they are known. It lets a rollout
// reject bad fleet-wide values before it reads any account.
func (s *VendorSpec) CheckParams(given map[string]any, later []string) error {
	deferred := make(map[string]bool, len(later))
	for _, n := range later {
		if _, ok := s.Param(n); !ok {
			return &ParamError{Vendor: s.Name, Param: n, Err: fmt.Errorf("unknown parameter; %s takes: %s", s.Name, strings.Join(s.paramNames(), ", "))}
		}
		deferred[n] = true
	}
	_, err := s.resolveParams(given, deferred)
	return err
}

func (s *VendorSpec) resolveParams(given map[string]any, deferred map[string]bool) (map[string]any, error) {
	out := make(map[string]any, len(s.Parameters))
	for _, k := range slices.Sorted(maps.Keys(given)) {
		if _, ok := s.Param(k); !ok {
			return nil, &ParamError{Vendor: s.Name, Param: k, Err: fmt.Errorf("unknown parameter; %s takes: %s", s.Name, strings.Join(s.paramNames(), ", "))}
		}
	}
	for _, p := range s.Parameters {
		raw, set := given[p.Name]
		if !set || raw == nil {
			if p.Required && !deferred[p.Name] {
				return nil, &ParamError{Vendor: s.Name, Param: p.Name, Err: fmt.Errorf("is required: %s; set it with --param %s=VALUE or config params.%s", describe(p), p.Name, p.Name)}
			}
			raw = p.Default
		}
		v, err := coerce(p, raw)
		if err != nil {
			return nil, &ParamError{Vendor: s.Name, Param: p.Name, Err: err}
		}
		if err := checkParam(p, v); err != nil {
			return nil, &ParamError{Vendor: s.Name, Param: p.Name, Err: err}
		}
		out[p.Name] = v
	}
	return out, nil
}

func describe(p Parameter) string {
	if p.Description != "" {
		return strings.TrimSuffix(p.Description, ".")
	}
	return "a " + string(p.Type)
}

func (s *VendorSpec) paramNames() []string {
	out := make([]string, len(s.Parameters))
	for i, p := range s.Parameters {
		out[i] = p.Name
	}
	return out
}

func checkParam(p Parameter, v any) error {
	var values []string
	switch x := v.(type) {
	case string:
		if x == "" {
			// Empty means "not set" for optional strings (an empty external ID means no
			// condition at all), so only non-empty values are checked.
			return nil
		}
		values = []string{x}
	case []any:
		for _, el := range x {
			values = append(values, el.(string))
		}
	default:
		return nil
	}
	var re *regexp.Regexp
	if p.Pattern != "" {
		var err error
		if re, err = regexp.Compile(p.Pattern); err != nil {
			return fmt.Errorf("spec pattern %q does not compile: %v", p.Pattern, err)
		}
	}
	for _, s := range values {
		switch p.Format {
		case "externalId":
			if err := ValidateExternalID(s); err != nil {
				return fmt.Errorf("%s: %w", validate.Quote(s), err)
			}
		case "awsAccountId":
			if err := validate.AccountID(s); err != nil {
				return valueError{err}
			}
		case "arn":
			if !arnPattern.MatchString(s) {
				return fmt.Errorf("%s is not an ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE)", validate.Quote(s))
			}
		}
		if re != nil && !re.MatchString(s) {
			return fmt.Errorf("%s does not match %s", validate.Quote(s), p.Pattern)
		}
		if len(p.Enum) > 0 && !slices.Contains(p.Enum, s) {
			return fmt.Errorf("%s is not one of %s", validate.Quote(s), strings.Join(p.Enum, ", "))
		}
	}
	return nil
}

// valueError carries a shared rule's error (for errors.As) under the text parameter errors
// have always had: the value, then the fix. The ParamError around it names the parameter, so
// validate's own "account ID" would only repeat what the parameter is.
type valueError struct{ err error }

func (e valueError) Error() string {
	var ve *validate.Error
	if errors.As(e.err, &ve) {
		return fmt.Sprintf("%s: %s", validate.Quote(ve.Value), ve.Fix)
	}
	return e.err.Error()
}

func (e valueError) Unwrap() error { return e.err }
