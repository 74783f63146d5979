package snapshot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/byoc-access/byoc-access/iamstate"
)

// IAM is the part of the IAM API a snapshot reads; *iam.Client satisfies it.
type IAM interface {
	GetRole(ctx context.Context, in *iam.GetRoleInput, optFns ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	ListRoleTags(ctx context.Context, in *iam.ListRoleTagsInput, optFns ...func(*iam.Options)) (*iam.ListRoleTagsOutput, error)
	ListAttachedRolePolicies(ctx context.Context, in *iam.ListAttachedRolePoliciesInput, optFns ...func(*iam.Options)) (*iam.ListAttachedRolePoliciesOutput, error)
	ListRolePolicies(ctx context.Context, in *iam.ListRolePoliciesInput, optFns ...func(*iam.Options)) (*iam.ListRolePoliciesOutput, error)
	GetRolePolicy(ctx context.Context, in *iam.GetRolePolicyInput, optFns ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error)
	ListPolicies(ctx context.Context, in *iam.ListPoliciesInput, optFns ...func(*iam.Options)) (*iam.ListPoliciesOutput, error)
	GetPolicy(ctx context.Context, in *iam.GetPolicyInput, optFns ...func(*iam.Options)) (*iam.GetPolicyOutput, error)
	GetPolicyVersion(ctx context.Context, in *iam.GetPolicyVersionInput, optFns ...func(*iam.Options)) (*iam.GetPolicyVersionOutput, error)
	ListPolicyTags(ctx context.Context, in *iam.ListPolicyTagsInput, optFns ...func(*iam.Options)) (*iam.ListPolicyTagsOutput, error)
}

// Names says which roles and policies belong to the vendor, usually taken from render's
// output for the same account.
type Names struct {
	Roles    []string
	Policies []string
}

// NamesOf lists the roles and policies of an IAM state.
func NamesOf(a *iamstate.Account) Names {
	return Names{Roles: slices.Sorted(maps.Keys(a.Roles)), Policies: slices.Sorted(maps.Keys(a.Policies))}
}

// Take reads the named roles and customer-managed policies. A role or policy that does not
// exist is simply absent from the result; verify reports it as missing.
func Take(ctx context.Context, client IAM, accountID string, names Names) (*iamstate.Account, error) {
	out := &iamstate.Account{AccountID: accountID, Roles: map[string]iamstate.Role{}, Policies: map[string]iamstate.Policy{}}
	for _, name := range names.Roles {
		role, err := readRole(ctx, client, name)
		if err != nil {
			if isNoSuchEntity(err) {
				continue
			}
			return nil, fmt.Errorf("account %s: role %s: %w", accountID, name, err)
		}
		out.Roles[name] = *role
	}
	if len(names.Policies) == 0 {
		return out, nil
	}
	want := map[string]bool{}
	for _, p := range names.Policies {
		want[p] = true
	}
	// Policies are found by name wherever their path is, so one moved to another path is
	// reported as a path difference rather than as missing.
	pages := iam.NewListPoliciesPaginator(client, &iam.ListPoliciesInput{Scope: types.PolicyScopeTypeLocal})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("account %s: list policies: %w", accountID, err)
		}
		for _, p := range page.Policies {
			name := aws.ToString(p.PolicyName)
			if !want[name] {
				continue
			}
			pol, err := readPolicy(ctx, client, p)
			if err != nil {
				return nil, fmt.Errorf("account %s: policy %s: %w", accountID, name, err)
			}
			out.Policies[name] = *pol
		}
	}
	return out, nil
}

func readRole(ctx context.Context, client IAM, name string) (*iamstate.Role, error) {
	got, err := client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if err != nil {
		return nil, err
	}
	r := got.Role
	trust, err := decodeDocument(aws.ToString(r.AssumeRolePolicyDocument))
	if err != nil {
		return nil, fmt.Errorf("trust policy: %w", err)
	}
	role := &iamstate.Role{
		Path:               aws.ToString(r.Path),
		Description:        aws.ToString(r.Description),
		TrustPolicy:        trust,
		MaxSessionDuration: int(aws.ToInt32(r.MaxSessionDuration)),
		AttachedPolicies:   []string{},
		InlinePolicies:     map[string]any{},
		Tags:               map[string]string{},
	}
	if role.MaxSessionDuration == 0 {
		role.MaxSessionDuration = 3600
	}
	if r.PermissionsBoundary != nil && r.PermissionsBoundary.PermissionsBoundaryArn != nil {
		b := aws.ToString(r.PermissionsBoundary.PermissionsBoundaryArn)
		role.PermissionsBoundary = &b
	}
	tags := iam.NewListRoleTagsPaginator(client, &iam.ListRoleTagsInput{RoleName: aws.String(name)})
	for tags.HasMorePages() {
		page, err := tags.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list tags: %w", err)
		}
		for _, t := range page.Tags {
			role.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	att := iam.NewListAttachedRolePoliciesPaginator(client, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
	for att.HasMorePages() {
		page, err := att.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list attached policies: %w", err)
		}
		for _, p := range page.AttachedPolicies {
			role.AttachedPolicies = append(role.AttachedPolicies, aws.ToString(p.PolicyArn))
		}
	}
	sort.Strings(role.AttachedPolicies)
	inline := iam.NewListRolePoliciesPaginator(client, &iam.ListRolePoliciesInput{RoleName: aws.String(name)})
	for inline.HasMorePages() {
		page, err := inline.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list inline policies: %w", err)
		}
		for _, pn := range page.PolicyNames {
			rp, err := client.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(pn)})
			if err != nil {
				return nil, fmt.Errorf("inline policy %s: %w", pn, err)
			}
			doc, err := decodeDocument(aws.ToString(rp.PolicyDocument))
			if err != nil {
				return nil, fmt.Errorf("inline policy %s: %w", pn, err)
			}
			role.InlinePolicies[pn] = doc
		}
	}
	return role, nil
}

func readPolicy(ctx context.Context, client IAM, listed types.Policy) (*iamstate.Policy, error) {
	// ListPolicies leaves out descriptions (IAM documents this), so read the policy itself.
	got, err := client.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: listed.Arn})
	if err != nil {
		return nil, fmt.Errorf("get policy: %w", err)
	}
	p := got.Policy
	v, err := client.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: p.Arn, VersionId: p.DefaultVersionId})
	if err != nil {
		return nil, fmt.Errorf("get default version: %w", err)
	}
	doc, err := decodeDocument(aws.ToString(v.PolicyVersion.Document))
	if err != nil {
		return nil, err
	}
	pol := &iamstate.Policy{
		Path:        aws.ToString(p.Path),
		Description: aws.ToString(p.Description),
		Document:    doc,
		Tags:        map[string]string{},
	}
	tags := iam.NewListPolicyTagsPaginator(client, &iam.ListPolicyTagsInput{PolicyArn: p.Arn})
	for tags.HasMorePages() {
		page, err := tags.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list tags: %w", err)
		}
		for _, t := range page.Tags {
			pol.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	return pol, nil
}

// decodeDocument parses a policy document as IAM returns it: URL-encoded JSON (RFC 3986, so
// a "+" is a plus sign, not a space). Plain JSON is accepted too.
func decodeDocument(s string) (any, error) {
	var doc any
	if json.Unmarshal([]byte(s), &doc) == nil {
		return doc, nil
	}
	if dec, err := url.PathUnescape(s); err == nil {
		s = dec
	}
	if err := json.Unmarshal([]byte(s), &doc); err != nil {
		return nil, fmt.Errorf("policy document is not JSON: %w", err)
	}
	return doc, nil
}

func isNoSuchEntity(err error) bool {
	var nse *types.NoSuchEntityException
	return errors.As(err, &nse)
}
