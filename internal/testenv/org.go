package testenv

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
)

// OrgSpec declares an organization to create in moto.
type OrgSpec struct {
	// OUs are paths below the root, parents first: "Workloads", "Workloads/Prod".
	OUs []string
	// Accounts are created in order.
	Accounts []AccountSpec
}

// AccountSpec declares one member account.
type AccountSpec struct {
	Name string
	// OU is the path below the root; empty means the root.
	OU   string
	Tags map[string]string
	// Suspended closes the account, which moto reports as SUSPENDED.
	Suspended bool
}

// Org is what SeedOrganization created.
type Org struct {
	ManagementID string
	RootID       string
	// Accounts maps account names to IDs.
	Accounts map[string]string
	// OUs maps "Root/..." paths to OU IDs.
	OUs map[string]string
}

// SeedOrganization creates an organization with the given OUs and accounts in moto.
func SeedOrganization(t testing.TB, m *Moto, spec OrgSpec) *Org {
	t.Helper()
	ctx := context.Background()
	client := organizations.NewFromConfig(m.AWSConfig(t))
	created, err := client.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: types.OrganizationFeatureSetAll})
	if err != nil {
		t.Fatalf("create organization: %v", err)
	}
	roots, err := client.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil || len(roots.Roots) == 0 {
		t.Fatalf("list roots: %v", err)
	}
	org := &Org{
		ManagementID: aws.ToString(created.Organization.MasterAccountId),
		RootID:       aws.ToString(roots.Roots[0].Id),
		Accounts:     map[string]string{},
		OUs:          map[string]string{},
	}
	org.OUs["Root"] = org.RootID
	for _, path := range spec.OUs {
		parent := "Root"
		name := path
		if i := strings.LastIndex(path, "/"); i >= 0 {
			parent, name = "Root/"+path[:i], path[i+1:]
		}
		parentID, ok := org.OUs[parent]
		if !ok {
			t.Fatalf("OU %s: declare its parent %s first", path, parent)
		}
		out, err := client.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: aws.String(parentID), Name: aws.String(name)})
		if err != nil {
			t.Fatalf("create OU %s: %v", path, err)
		}
		org.OUs["Root/"+path] = aws.ToString(out.OrganizationalUnit.Id)
	}
	for _, a := range spec.Accounts {
		id := createAccount(t, client, a.Name)
		org.Accounts[a.Name] = id
		if a.OU != "" {
			ouID, ok := org.OUs["Root/"+a.OU]
			if !ok {
				t.Fatalf("account %s: unknown OU %s", a.Name, a.OU)
			}
			if _, err := client.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(id), SourceParentId: aws.String(org.RootID), DestinationParentId: aws.String(ouID)}); err != nil {
				t.Fatalf("move account %s: %v", a.Name, err)
			}
		}
		if len(a.Tags) > 0 {
			var tags []types.Tag
			for k, v := range a.Tags {
				tags = append(tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
			}
			if _, err := client.TagResource(ctx, &organizations.TagResourceInput{ResourceId: aws.String(id), Tags: tags}); err != nil {
				t.Fatalf("tag account %s: %v", a.Name, err)
			}
		}
		if a.Suspended {
			if _, err := client.CloseAccount(ctx, &organizations.CloseAccountInput{AccountId: aws.String(id)}); err != nil {
				t.Fatalf("close account %s: %v", a.Name, err)
			}
		}
	}
	return org
}

// AddAccounts creates n member accounts named prefix-0001... in the root, for scale tests.
func AddAccounts(t testing.TB, m *Moto, prefix string, n int) []string {
	t.Helper()
	client := organizations.NewFromConfig(m.AWSConfig(t))
	ids := make([]string, 0, n)
	for i := 1; i <= n; i++ {
		ids = append(ids, createAccount(t, client, fmt.Sprintf("%s-%04d", prefix, i)))
	}
	return ids
}

func createAccount(t testing.TB, client *organizations.Client, name string) string {
	t.Helper()
	out, err := client.CreateAccount(context.Background(), &organizations.CreateAccountInput{
		AccountName: aws.String(name),
		Email:       aws.String(strings.ToLower(strings.ReplaceAll(name, " ", "-")) + "@example.com"),
	})
	if err != nil {
		t.Fatalf("create account %s: %v", name, err)
	}
	id := aws.ToString(out.CreateAccountStatus.AccountId)
	if id == "" {
		t.Fatalf("create account %s: moto returned no account ID (state %s)", name, out.CreateAccountStatus.State)
	}
	return id
}
