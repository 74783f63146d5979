package rollout

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/testenv"
)

// TestLeftoversOf: each pending create the program can leave becomes what removes it, in the
// order IAM allows (attachments and inline policies, then roles, then policies); providers and
// components are nothing to remove; anything else is named as unknown.
func TestLeftoversOf(t *testing.T) {
	pc := func(typ string, custom bool, inputs map[string]any) pendingCreate {
		return pendingCreate{URN: "urn:pulumi:s::byoc-access::" + typ + "::x", Type: typ, Custom: custom, Inputs: inputs}
	}
	tests := []struct {
		name        string
		pending     []pendingCreate
		partition   string
		wantNames   []string
		wantCommand string
		wantUnknown int
	}{
		{
			name: "the program's four IAM types, in removal order",
			pending: []pendingCreate{
				pc(typePolicy, true, map[string]any{"name": "P", "path": "/vendor/"}),
				pc(typeRole, true, map[string]any{"name": "R"}),
				pc(typeAttachment, true, map[string]any{"role": "R", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
				pc(typeRolePolicy, true, map[string]any{"role": "R", "name": "inline"}),
			},
			wantNames: []string{
				"attachment of arn:aws:iam::aws:policy/ReadOnlyAccess to role/R",
				"inline policy inline of role/R",
				"role/R",
				"policy/P",
			},
			wantCommand: "aws iam delete-policy --policy-arn arn:aws:iam::111122223333:policy/vendor/P",
		},
		{
			name:        "a policy without a path, in another partition",
			pending:     []pendingCreate{pc(typePolicy, true, map[string]any{"name": "P"})},
			partition:   "aws-cn",
			wantNames:   []string{"policy/P"},
			wantCommand: "aws iam delete-policy --policy-arn arn:aws-cn:iam::111122223333:policy/P",
		},
		{
			name: "providers and components create nothing in the account",
			pending: []pendingCreate{
				pc("pulumi:providers:aws", true, nil),
				pc("byoc-access:index:VendorAccess", false, nil),
			},
		},
		{
			name: "an unknown type, and an attachment whose inputs are not known, are named",
			pending: []pendingCreate{
				pc("aws:s3/bucket:Bucket", true, map[string]any{"bucket": "b"}),
				pc(typeAttachment, true, map[string]any{"role": "R"}),
			},
			wantUnknown: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, unknown := leftoversOf(tt.pending, tt.partition, "111122223333")
			var names []string
			var commands []string
			for _, l := range got {
				names = append(names, l.name)
				commands = append(commands, l.commands...)
			}
			require.Equal(t, tt.wantNames, names)
			if tt.wantCommand != "" {
				require.Contains(t, commands, tt.wantCommand)
			}
			require.Len(t, unknown, tt.wantUnknown)
		})
	}
}

// TestLeftoversAreRemovedFromIAM removes, through the real SDK client against moto, what a
// killed update can leave: a role with a managed policy, an inline policy and an instance
// profile; a policy attached to another role; an attachment to a role state holds. A second
// pass finds nothing, and says so.
func TestLeftoversAreRemovedFromIAM(t *testing.T) {
	m := testenv.StartMoto(t, testenv.WithoutManagedPolicies())
	ctx := context.Background()
	client := iam.NewFromConfig(m.AWSConfig(t))
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}`
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	for _, r := range []string{"Killed", "Recorded"} {
		_, err := client.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(r), AssumeRolePolicyDocument: aws.String(trust)})
		require.NoError(t, err)
	}
	arn := func(name string) string {
		out, err := client.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(name), Path: aws.String("/vendor/"), PolicyDocument: aws.String(doc)})
		require.NoError(t, err)
		return aws.ToString(out.Policy.Arn)
	}
	recorded, killed := arn("RecordedPolicy"), arn("KilledPolicy")
	_, err := client.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: aws.String(killed), PolicyDocument: aws.String(doc), SetAsDefault: true})
	require.NoError(t, err)
	for _, a := range [][2]string{{"Killed", recorded}, {"Recorded", recorded}, {"Recorded", killed}} {
		_, err := client.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(a[0]), PolicyArn: aws.String(a[1])})
		require.NoError(t, err)
	}
	_, err = client.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("Killed"), PolicyName: aws.String("inline"), PolicyDocument: aws.String(doc)})
	require.NoError(t, err)
	_, err = client.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("profile")})
	require.NoError(t, err)
	_, err = client.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("profile"), RoleName: aws.String("Killed")})
	require.NoError(t, err)

	todo, unknown := leftoversOf([]pendingCreate{
		{Type: typeAttachment, Custom: true, Inputs: map[string]any{"role": "Recorded", "policyArn": recorded}},
		{Type: typeRole, Custom: true, Inputs: map[string]any{"name": "Killed"}},
		{Type: typePolicy, Custom: true, Inputs: map[string]any{"name": "KilledPolicy", "path": "/vendor/"}},
	}, "aws", testenv.MotoAccount)
	require.Empty(t, unknown)
	for pass, want := range []bool{true, false} {
		for _, l := range todo {
			existed, err := l.remove(ctx, client)
			require.NoError(t, err, l.name)
			require.Equal(t, want, existed, "pass %d: %s", pass+1, l.name)
		}
	}

	roles, err := client.ListRoles(ctx, &iam.ListRolesInput{})
	require.NoError(t, err)
	require.Len(t, roles.Roles, 1)
	require.Equal(t, "Recorded", aws.ToString(roles.Roles[0].RoleName), "what state holds is left to the destroy")
	attached, err := client.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("Recorded")})
	require.NoError(t, err)
	require.Empty(t, attached.AttachedPolicies, "the attachment state does not know is gone, and the killed policy with its own")
	policies, err := client.ListPolicies(ctx, &iam.ListPoliciesInput{Scope: "Local"})
	require.NoError(t, err)
	require.Len(t, policies.Policies, 1)
	require.Equal(t, recorded, aws.ToString(policies.Policies[0].Arn))
}
