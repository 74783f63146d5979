package access

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/byoc-access/byoc-access/vendors"
)

// DefaultRoleName is the role AWS Organizations creates in every account it creates, and so
// the one most organizations can assume without setting anything up.
const DefaultRoleName = "OrganizationAccountAccessRole"

// ExecutionRole is the role the rollout assumes in each account to deploy there.
type ExecutionRole struct {
	// NameOrTemplate is a role name (OrganizationAccountAccessRole, the default;
	// AWSControlTowerExecution; or path/name) or an ARN template with {account} and
	// optionally {partition}: arn:{partition}:iam::{account}:role/byoc/Deployer.
	NameOrTemplate string
	// ExternalID is passed to AssumeRole when the execution role's trust policy requires one.
	ExternalID string
	// SessionName shows up in CloudTrail in the target account, so an auditor can tell this
	// tool's actions from a person's; default byoc-access-<account>. {account} is replaced.
	SessionName string
	// Duration of the assumed session; default the SDK's 15 minutes, refreshed as needed.
	Duration time.Duration
	// Partition of the accounts (aws, aws-us-gov, aws-cn); default aws.
	Partition string
}

var (
	// IAM: a role name is 1-64 of these; a path is /-separated segments of them.
	roleNamePattern    = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	rolePathPattern    = regexp.MustCompile(`^[\w+=,.@/-]{0,510}$`)
	sessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	placeholderPattern = regexp.MustCompile(`\{[^}]*\}`)
	partitionPattern   = regexp.MustCompile(`^aws(-[a-z]+)*$`)
)

// sampleAccount stands in for a real account when a template is checked.
const sampleAccount = "111122223333"

// Validate checks the role settings, so that a bad flag fails before any account is touched.
func (r ExecutionRole) Validate() error {
	name := r.nameOrDefault()
	if err := validateRole(name); err != nil {
		return fmt.Errorf("--execution-role %q: %w", name, err)
	}
	if r.ExternalID != "" {
		if err := vendors.ValidateExternalID(r.ExternalID); err != nil {
			return fmt.Errorf("--execution-external-id: %w", err)
		}
	}
	if r.SessionName != "" {
		if s := r.Session(sampleAccount); !sessionNamePattern.MatchString(s) {
			return fmt.Errorf("--session-name %q: STS allows 2 to 64 characters of letters, digits and +=,.@-_ (with {account} as 12 digits)", r.SessionName)
		}
	}
	if r.Duration != 0 && (r.Duration < 15*time.Minute || r.Duration > 12*time.Hour) {
		return fmt.Errorf("session duration %s: STS allows 15m to 12h", r.Duration)
	}
	if p := r.Partition; p != "" && !partitionPattern.MatchString(p) {
		return fmt.Errorf("partition %q: want aws, aws-us-gov, aws-cn...", p)
	}
	return nil
}

func validateRole(name string) error {
	for _, ph := range placeholderPattern.FindAllString(name, -1) {
		if ph != "{account}" && ph != "{partition}" {
			return fmt.Errorf("unknown placeholder %s: a template may use {account} and {partition}", ph)
		}
	}
	if !strings.HasPrefix(name, "arn:") {
		if strings.Contains(name, "{") {
			return errors.New("a role name has no placeholders; an ARN template starts with arn:, e.g. arn:aws:iam::{account}:role/Deployer")
		}
		return validateRoleName(strings.TrimPrefix(name, "/"))
	}
	if !strings.Contains(name, "{account}") {
		return errors.New("an ARN template must contain {account}, e.g. arn:aws:iam::{account}:role/Deployer")
	}
	parsed, err := arn.Parse(ExecutionRole{NameOrTemplate: name}.RoleARN("aws", sampleAccount))
	if err != nil {
		return fmt.Errorf("not an ARN: %w", err)
	}
	if parsed.Service != "iam" || !strings.HasPrefix(parsed.Resource, "role/") {
		return errors.New("the ARN must name a role (arn:aws:iam::{account}:role/NAME)")
	}
	if fields := strings.SplitN(name, ":", 6); len(fields) < 6 || fields[4] != "{account}" || parsed.AccountID != sampleAccount {
		return errors.New("{account} must be the ARN's account field (arn:aws:iam::{account}:role/NAME)")
	}
	return validateRoleName(strings.TrimPrefix(parsed.Resource, "role/"))
}

// validateRoleName checks "name" or "path/name" against IAM's rules.
func validateRoleName(pathName string) error {
	path, name := "", pathName
	if i := strings.LastIndex(pathName, "/"); i >= 0 {
		path, name = pathName[:i], pathName[i+1:]
	}
	if !roleNamePattern.MatchString(name) {
		return errors.New("a role name is 1 to 64 characters of letters, digits and +=,.@-_")
	}
	if path != "" && (!rolePathPattern.MatchString(path) || slices.Contains(strings.Split(path, "/"), "")) {
		return errors.New("a role path is /-separated names of letters, digits and +=,.@-_")
	}
	return nil
}

func (r ExecutionRole) nameOrDefault() string {
	if r.NameOrTemplate == "" {
		return DefaultRoleName
	}
	return r.NameOrTemplate
}

// RoleARN is the execution role's ARN in one account (partition "" means aws).
func (r ExecutionRole) RoleARN(partition, accountID string) string {
	if partition == "" {
		partition = "aws"
	}
	name := r.nameOrDefault()
	if strings.HasPrefix(name, "arn:") {
		return strings.NewReplacer("{account}", accountID, "{partition}", partition).Replace(name)
	}
	return fmt.Sprintf("arn:%s:iam::%s:role/%s", partition, accountID, strings.TrimPrefix(name, "/"))
}

// Session is the session name for one account, as CloudTrail will show it.
func (r ExecutionRole) Session(accountID string) string {
	if r.SessionName != "" {
		return strings.ReplaceAll(r.SessionName, "{account}", accountID)
	}
	return "byoc-access-" + accountID
}
