package testenv

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
)

// OrgSpec declares an organization for SeedOrganization, so a test reads as the org it needs.
type OrgSpec struct {
	// OUs are paths below the root, parents first: "Workloads", "Workloads/Prod".
	OUs []string
	// Accounts are created in order.
	Accounts []AccountSpec
}

// AccountSpec declares one member account of an OrgSpec.
type AccountSpec struct {
	// Name is the account's name and its key in Org.Accounts.
	Name string
	// Email defaults to <name>@example.com; AWS requires a unique one per account.
	Email string
	// OU is the path below the root ("Workloads/Prod"); empty means the root.
	OU string
	// Tags are set when the account is created.
	Tags map[string]string
	// Suspended closes the account after creating it. moto 5.2 moves a closed account
	// straight to SUSPENDED (Status and State); it never reports PENDING_CLOSURE.
	Suspended bool
}

// Org is what SeedOrganization created, so tests can name accounts and OUs by their spec.
type Org struct {
	// ManagementID is the management account: the account of the seeding credentials
	// (MotoAccount for the default ones). moto lists it in the root, named "master".
	ManagementID string
	// RootID is the root's ID (r-...), also Org.OUs["Root"].
	RootID string
	// Accounts maps account names to IDs.
	Accounts map[string]string
	// OUs maps paths to OU IDs: "Root" for the root, "Root/Workloads/Prod" below it.
	OUs map[string]string
}

// SeedOrganization creates an organization (feature set ALL) with the spec's OUs and accounts
// in m, as the default credentials (so the management account is MotoAccount).
//
// Every account moto creates gets an IAM backend of its own, with the AWS-managed policies in
// it unless m was started WithoutManagedPolicies: that costs about a second per account.
func SeedOrganization(t testing.TB, m *Moto, spec OrgSpec) *Org {
	t.Helper()
	return SeedOrganizationWith(t, m.AWSConfig(t), spec)
}

// SeedOrganizationWith is SeedOrganization through any SDK config pointed at moto: other
// credentials make another account the management account.
func SeedOrganizationWith(t testing.TB, cfg aws.Config, spec OrgSpec) *Org {
	t.Helper()
	ctx := context.Background()
	client := organizations.NewFromConfig(cfg)
	created, err := client.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: types.OrganizationFeatureSetAll})
	if err != nil {
		t.Fatalf("create organization (moto allows one per management account; Reset clears it): %v", err)
	}
	roots, err := client.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil || len(roots.Roots) == 0 {
		t.Fatalf("list roots: %v", err)
	}
	org := &Org{
		ManagementID: aws.ToString(created.Organization.MasterAccountId),
		RootID:       aws.ToString(roots.Roots[0].Id),
		Accounts:     map[string]string{},
		OUs:          map[string]string{"Root": aws.ToString(roots.Roots[0].Id)},
	}
	for _, path := range spec.OUs {
		path = strings.Trim(strings.TrimPrefix(path, "Root/"), "/")
		parent, name := "Root", path
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
		if _, dup := org.Accounts[a.Name]; dup {
			t.Fatalf("account %s is declared twice", a.Name)
		}
		id := createAccount(t, client, a.Name, a.Email, a.Tags)
		org.Accounts[a.Name] = id
		if ou := strings.Trim(strings.TrimPrefix(a.OU, "Root/"), "/"); ou != "" && ou != "Root" {
			ouID, ok := org.OUs["Root/"+ou]
			if !ok {
				t.Fatalf("account %s: OU %s is not in the spec's OUs", a.Name, a.OU)
			}
			if _, err := client.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(id), SourceParentId: aws.String(org.RootID), DestinationParentId: aws.String(ouID)}); err != nil {
				t.Fatalf("move account %s: %v", a.Name, err)
			}
		}
		if a.Suspended {
			SuspendAccount(t, cfg, id)
		}
	}
	return org
}

// SuspendAccount closes a member account, which moto 5.2 reports as SUSPENDED at once, so
// tests can see how a closed account is treated. Closing it twice fails in moto as in AWS
// (AccountAlreadyClosedException).
func SuspendAccount(t testing.TB, cfg aws.Config, accountID string) {
	t.Helper()
	client := organizations.NewFromConfig(cfg)
	if _, err := client.CloseAccount(context.Background(), &organizations.CloseAccountInput{AccountId: aws.String(accountID)}); err != nil {
		t.Fatalf("close account %s: %v", accountID, err)
	}
}

// addAccountsWorkers is how many CreateAccount calls AddAccounts keeps in flight: moto serves
// requests on threads, and a few at once keep a 1,000-account org to seconds.
const addAccountsWorkers = 4

// AddAccounts creates n member accounts named prefix-0001... in the root of the organization
// already in m, for scale tests, and returns their IDs in name order.
func AddAccounts(t testing.TB, m *Moto, prefix string, n int) []string {
	t.Helper()
	return AddAccountsWith(t, m.AWSConfig(t), prefix, n)
}

// AddAccountsWith is AddAccounts through any SDK config pointed at moto.
func AddAccountsWith(t testing.TB, cfg aws.Config, prefix string, n int) []string {
	t.Helper()
	client := organizations.NewFromConfig(cfg)
	ids := make([]string, n)
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < addAccountsWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				ids[i], errs[i] = tryCreateAccount(client, fmt.Sprintf("%s-%04d", prefix, i+1), "", nil)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

func createAccount(t testing.TB, client *organizations.Client, name, email string, tags map[string]string) string {
	t.Helper()
	id, err := tryCreateAccount(client, name, email, tags)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// tryCreateAccount creates an account. moto creates it synchronously (CreateAccountStatus is
// SUCCEEDED with the ID in the response) and, as AWS does, an OrganizationAccountAccessRole in
// it that trusts the management account; tags are set in the same call.
func tryCreateAccount(client *organizations.Client, name, email string, tags map[string]string) (string, error) {
	if email == "" {
		email = strings.ToLower(strings.ReplaceAll(name, " ", "-")) + "@example.com"
	}
	in := &organizations.CreateAccountInput{AccountName: aws.String(name), Email: aws.String(email)}
	for k, v := range tags {
		in.Tags = append(in.Tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	out, err := client.CreateAccount(context.Background(), in)
	if err != nil {
		return "", fmt.Errorf("create account %s: %w", name, err)
	}
	id := aws.ToString(out.CreateAccountStatus.AccountId)
	if id == "" {
		return "", fmt.Errorf("create account %s: moto returned no account ID (state %s)", name, out.CreateAccountStatus.State)
	}
	return id, nil
}
