package rollout

// What a killed update created in an account that its state never recorded, and its removal
// before a destroy.
//
// Destroy deletes what state holds, and nothing else. After a killed update the account may
// hold more: an entity whose create the engine had started (a pending create, recover.go)
// and IAM carried out. A role or policy left so keeps the vendor's access, and an attachment
// left so makes IAM refuse to delete the role it is on (DeleteConflict), so the destroy fails
// after state's own deletions have begun. Offboarding is when a customer revokes a vendor's
// access, so the destroy removes these itself, with IAM calls and before the engine runs,
// rather than asking for an `up` that would grant the access again first. What it cannot
// remove it names, each with the AWS CLI commands that do.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/byoc-access/byoc-access/rollout/access"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

// IAM resource types of the program, as pulumi-aws names them.
const (
	typeRole           = "aws:iam/role:Role"
	typePolicy         = "aws:iam/policy:Policy"
	typeRolePolicy     = "aws:iam/rolePolicy:RolePolicy"
	typeAttachment     = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
	providerTypePrefix = "pulumi:providers:"
)

// leftoverIAM is what removing leftovers calls in an account's IAM.
type leftoverIAM interface {
	iam.ListAttachedRolePoliciesAPIClient
	iam.ListRolePoliciesAPIClient
	iam.ListInstanceProfilesForRoleAPIClient
	iam.ListEntitiesForPolicyAPIClient
	iam.ListPolicyVersionsAPIClient
	DetachRolePolicy(context.Context, *iam.DetachRolePolicyInput, ...func(*iam.Options)) (*iam.DetachRolePolicyOutput, error)
	DetachUserPolicy(context.Context, *iam.DetachUserPolicyInput, ...func(*iam.Options)) (*iam.DetachUserPolicyOutput, error)
	DetachGroupPolicy(context.Context, *iam.DetachGroupPolicyInput, ...func(*iam.Options)) (*iam.DetachGroupPolicyOutput, error)
	DeleteRolePolicy(context.Context, *iam.DeleteRolePolicyInput, ...func(*iam.Options)) (*iam.DeleteRolePolicyOutput, error)
	RemoveRoleFromInstanceProfile(context.Context, *iam.RemoveRoleFromInstanceProfileInput, ...func(*iam.Options)) (*iam.RemoveRoleFromInstanceProfileOutput, error)
	DeleteRole(context.Context, *iam.DeleteRoleInput, ...func(*iam.Options)) (*iam.DeleteRoleOutput, error)
	DeletePolicyVersion(context.Context, *iam.DeletePolicyVersionInput, ...func(*iam.Options)) (*iam.DeletePolicyVersionOutput, error)
	DeletePolicy(context.Context, *iam.DeletePolicyInput, ...func(*iam.Options)) (*iam.DeletePolicyOutput, error)
}

// leftover is one entity a killed update may have created without state recording it.
type leftover struct {
	// name says what it is, for messages: "role/NAME", "policy/NAME", "attachment of ARN to
	// role/NAME", "inline policy NAME of role/NAME".
	name string
	// commands remove it by hand with the AWS CLI, in order.
	commands []string
	// remove deletes it; existed says whether there was anything to delete.
	remove func(ctx context.Context, client leftoverIAM) (existed bool, err error)
}

// leftoversOf turns a stack's pending creates that state does not hold into what to remove,
// in the order IAM allows: attachments and inline policies before the roles they are on,
// roles before the policies attached to them. A pending create this file cannot remove is
// returned in unknown, named.
func leftoversOf(pending []pendingCreate, partition, accountID string) (out []leftover, unknown []string) {
	if partition == "" {
		partition = "aws"
	}
	var roles, policies []leftover
	for _, pc := range pending {
		str := func(k string) string { s, _ := pc.Inputs[k].(string); return s }
		switch pc.Type {
		case typeAttachment:
			role, arn := str("role"), str("policyArn")
			if role == "" || arn == "" {
				unknown = append(unknown, pc.URN)
				continue
			}
			out = append(out, detachment(role, arn))
		case typeRolePolicy:
			role, name := str("role"), str("name")
			if role == "" || name == "" {
				unknown = append(unknown, pc.URN)
				continue
			}
			out = append(out, inlinePolicy(role, name))
		case typeRole:
			if str("name") == "" {
				unknown = append(unknown, pc.URN)
				continue
			}
			roles = append(roles, roleLeftover(str("name")))
		case typePolicy:
			name, path := str("name"), str("path")
			if name == "" {
				unknown = append(unknown, pc.URN)
				continue
			}
			if path == "" {
				path = "/"
			}
			arn := fmt.Sprintf("arn:%s:iam::%s:policy%s%s", partition, accountID, path, name)
			policies = append(policies, policyLeftover(name, arn))
		default:
			// Providers and components create nothing in the account.
			if strings.HasPrefix(pc.Type, providerTypePrefix) || !pc.Custom {
				continue
			}
			unknown = append(unknown, pc.URN)
		}
	}
	return append(append(out, roles...), policies...), unknown
}

func detachment(role, arn string) leftover {
	return leftover{
		name:     fmt.Sprintf("attachment of %s to role/%s", arn, role),
		commands: []string{fmt.Sprintf("aws iam detach-role-policy --role-name %s --policy-arn %s", role, arn)},
		remove: func(ctx context.Context, c leftoverIAM) (bool, error) {
			_, err := c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(role), PolicyArn: aws.String(arn)})
			return gotEntity(err)
		},
	}
}

func inlinePolicy(role, name string) leftover {
	return leftover{
		name:     fmt.Sprintf("inline policy %s of role/%s", name, role),
		commands: []string{fmt.Sprintf("aws iam delete-role-policy --role-name %s --policy-name %s", role, name)},
		remove: func(ctx context.Context, c leftoverIAM) (bool, error) {
			_, err := c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(name)})
			return gotEntity(err)
		},
	}
}

// roleLeftover deletes a role with everything that would make IAM refuse: its managed
// policies (whoever attached them: the role goes), inline policies and instance profiles.
func roleLeftover(role string) leftover {
	return leftover{
		name: "role/" + role,
		commands: []string{
			fmt.Sprintf("aws iam list-attached-role-policies --role-name %s, then for each: aws iam detach-role-policy --role-name %s --policy-arn ARN", role, role),
			fmt.Sprintf("aws iam list-role-policies --role-name %s, then for each: aws iam delete-role-policy --role-name %s --policy-name NAME", role, role),
			fmt.Sprintf("aws iam delete-role --role-name %s", role),
		},
		remove: func(ctx context.Context, c leftoverIAM) (bool, error) {
			name := aws.String(role)
			attached := iam.NewListAttachedRolePoliciesPaginator(c, &iam.ListAttachedRolePoliciesInput{RoleName: name})
			for attached.HasMorePages() {
				page, err := attached.NextPage(ctx)
				if err != nil {
					return gotEntity(err)
				}
				for _, p := range page.AttachedPolicies {
					if _, err := c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: name, PolicyArn: p.PolicyArn}); err != nil && !noSuchEntity(err) {
						return true, fmt.Errorf("detach %s: %w", aws.ToString(p.PolicyArn), err)
					}
				}
			}
			inline := iam.NewListRolePoliciesPaginator(c, &iam.ListRolePoliciesInput{RoleName: name})
			for inline.HasMorePages() {
				page, err := inline.NextPage(ctx)
				if err != nil {
					return listed(err, "list inline policies")
				}
				for _, p := range page.PolicyNames {
					if _, err := c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: name, PolicyName: aws.String(p)}); err != nil && !noSuchEntity(err) {
						return true, fmt.Errorf("delete inline policy %s: %w", p, err)
					}
				}
			}
			profiles := iam.NewListInstanceProfilesForRolePaginator(c, &iam.ListInstanceProfilesForRoleInput{RoleName: name})
			for profiles.HasMorePages() {
				page, err := profiles.NextPage(ctx)
				if err != nil {
					return listed(err, "list instance profiles")
				}
				for _, p := range page.InstanceProfiles {
					if _, err := c.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{RoleName: name, InstanceProfileName: p.InstanceProfileName}); err != nil && !noSuchEntity(err) {
						return true, fmt.Errorf("remove from instance profile %s: %w", aws.ToString(p.InstanceProfileName), err)
					}
				}
			}
			_, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: name})
			return gotEntity(err)
		},
	}
}

// policyLeftover deletes a customer managed policy: detached from every role, user and group
// first, and its other versions deleted, as IAM requires.
func policyLeftover(name, arn string) leftover {
	return leftover{
		name: "policy/" + name,
		commands: []string{
			fmt.Sprintf("aws iam list-entities-for-policy --policy-arn %s, then detach it from each (aws iam detach-role-policy --role-name NAME --policy-arn %s)", arn, arn),
			fmt.Sprintf("aws iam list-policy-versions --policy-arn %s, then for each version that is not the default: aws iam delete-policy-version --policy-arn %s --version-id ID", arn, arn),
			fmt.Sprintf("aws iam delete-policy --policy-arn %s", arn),
		},
		remove: func(ctx context.Context, c leftoverIAM) (bool, error) {
			policy := aws.String(arn)
			entities := iam.NewListEntitiesForPolicyPaginator(c, &iam.ListEntitiesForPolicyInput{PolicyArn: policy})
			for entities.HasMorePages() {
				page, err := entities.NextPage(ctx)
				if err != nil {
					return gotEntity(err)
				}
				for _, r := range page.PolicyRoles {
					if _, err := c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: r.RoleName, PolicyArn: policy}); err != nil && !noSuchEntity(err) {
						return true, fmt.Errorf("detach from role %s: %w", aws.ToString(r.RoleName), err)
					}
				}
				for _, u := range page.PolicyUsers {
					if _, err := c.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: u.UserName, PolicyArn: policy}); err != nil && !noSuchEntity(err) {
						return true, fmt.Errorf("detach from user %s: %w", aws.ToString(u.UserName), err)
					}
				}
				for _, g := range page.PolicyGroups {
					if _, err := c.DetachGroupPolicy(ctx, &iam.DetachGroupPolicyInput{GroupName: g.GroupName, PolicyArn: policy}); err != nil && !noSuchEntity(err) {
						return true, fmt.Errorf("detach from group %s: %w", aws.ToString(g.GroupName), err)
					}
				}
			}
			versions := iam.NewListPolicyVersionsPaginator(c, &iam.ListPolicyVersionsInput{PolicyArn: policy})
			for versions.HasMorePages() {
				page, err := versions.NextPage(ctx)
				if err != nil {
					return listed(err, "list versions")
				}
				for _, v := range page.Versions {
					if v.IsDefaultVersion {
						continue
					}
					if _, err := c.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: policy, VersionId: v.VersionId}); err != nil && !noSuchEntity(err) {
						return true, fmt.Errorf("delete version %s: %w", aws.ToString(v.VersionId), err)
					}
				}
			}
			_, err := c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: policy})
			return gotEntity(err)
		},
	}
}

// listed reads a failed listing of an entity's parts: NoSuchEntity means the entity is gone.
func listed(err error, what string) (bool, error) {
	if noSuchEntity(err) {
		return false, nil
	}
	return true, fmt.Errorf("%s: %w", what, err)
}

// gotEntity reads a removal's answer: NoSuchEntity means there was nothing to remove.
func gotEntity(err error) (bool, error) {
	if noSuchEntity(err) {
		return false, nil
	}
	return true, err
}

func noSuchEntity(err error) bool {
	var nse *iamtypes.NoSuchEntityException
	return errors.As(err, &nse)
}

// LeftoversError is a destroy that could not remove what a killed update left in the account
// without state recording it. Nothing of state was destroyed; once the leftovers are gone
// (by the commands it names, or a run that can remove them), destroy runs again.
type LeftoversError struct {
	// AccountID and Stack are the account and its stack.
	AccountID, Stack string
	// Leftovers name each entity that may remain, with the commands that remove it.
	Leftovers []string
	// Err is why this run could not remove them.
	Err error
}

func (e *LeftoversError) Error() string {
	return fmt.Sprintf("a killed update of stack %s left what its state does not record, and this destroy could not remove it (%v), so it stopped before deleting anything state holds: %s; "+
		"remove them with credentials for account %s, then run destroy again",
		e.Stack, e.Err, strings.Join(e.Leftovers, "; "), e.AccountID)
}

func (e *LeftoversError) Unwrap() error { return e.Err }

// removeLeftovers removes, before a destroy, what the stack's pending creates may have left in
// the account. Without AWS credentials for the account it cannot even look: it names every
// candidate with its commands, and the destroy stops there.
func (r *pass) removeLeftovers(ctx context.Context, a targets.Account, stack string, pending []pendingCreate, log *os.File) error {
	partition := r.opts.ExecutionRole.Partition
	todo, unknown := leftoversOf(pending, partition, a.ID)
	clear := "`pulumi refresh --clear-pending-creates --stack " + stack + "`"
	fail := func(err error, left []leftover) error {
		le := &LeftoversError{AccountID: a.ID, Stack: stack, Err: err}
		for _, l := range left {
			le.Leftovers = append(le.Leftovers, l.name+": `"+strings.Join(l.commands, "`, then `")+"`")
		}
		for _, urn := range unknown {
			le.Leftovers = append(le.Leftovers, urn+": check the account for it, then clear it from state with "+clear)
		}
		return &AccountError{AccountID: a.ID, Kind: KindConflict, Reason: le.Error(), Err: le}
	}
	if r.aws == nil {
		return fail(errors.New("it has no AWS credentials to look in the account with (rollout.Preflight); once they are gone, clear them from state with "+clear), todo)
	}
	role := r.opts.ExecutionRole
	client := iam.NewFromConfig(role.Credentials(*r.aws, sts.NewFromConfig(*r.aws), partition, a.ID))
	var removed, absent []string
	var left []leftover
	var firstErr error
	for _, l := range todo {
		existed, err := l.remove(ctx, client)
		switch {
		case err != nil:
			left = append(left, l)
			if firstErr == nil {
				firstErr = fmt.Errorf("%s: %s", l.name, access.Reason(err))
			}
		case existed:
			removed = append(removed, l.name)
		default:
			absent = append(absent, l.name)
		}
	}
	if len(removed) > 0 || len(absent) > 0 {
		msg := fmt.Sprintf("a killed update of stack %s had started to create what its state does not record, which destroy alone would leave behind", stack)
		if len(removed) > 0 {
			msg += "; removed " + strings.Join(removed, ", ")
		}
		if len(absent) > 0 {
			msg += "; not in the account: " + strings.Join(absent, ", ")
		}
		r.repair(a, log, "%s", msg)
	}
	if firstErr != nil || len(unknown) > 0 {
		if firstErr == nil {
			firstErr = errors.New("resources of a type this rollout does not remove")
		}
		return fail(firstErr, left)
	}
	return nil
}
