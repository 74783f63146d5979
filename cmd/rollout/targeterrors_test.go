package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/pulumicli"
	"github.com/byoc-access/byoc-access/internal/testenv"
	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

// failingTransport fails every request the way a broken network does, with no AWS error code.
type failingTransport struct{}

func (failingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("plain failure")
}

// TestTargetSelectionExitCodes: a target selection the organization rejects (an unknown OU, an
// account not in it) is the command line's fault and exits 2, however it is worded and
// wrapped; failing to read the organization at all exits 1. The exit code comes from
// *targets.InputError, not from the message.
func TestTargetSelectionExitCodes(t *testing.T) {
	m := testenv.StartMoto(t, testenv.WithoutManagedPolicies())
	org := testenv.SeedOrganization(t, m, testenv.OrgSpec{
		OUs:      []string{"Workloads"},
		Accounts: []testenv.AccountSpec{{Name: "app", OU: "Workloads"}},
	})
	moto := func() (aws.Config, error) { return m.AWSConfig(t), nil }

	// Organizations refuses the credentials, as for a member account without delegation.
	proxy := testenv.StartFaultProxy(t, m.Endpoint, func(c testenv.Call) *testenv.Fault {
		if c.Action == "DescribeOrganization" {
			return &testenv.Fault{Status: 400, Code: "AccessDeniedException", Message: "You don't have permissions to access this resource."}
		}
		return nil
	})
	denied := func() (aws.Config, error) { return testenv.RetryingConfig(t, proxy.URL), nil }
	broken := func() (aws.Config, error) {
		cfg := m.AWSConfig(t)
		cfg.HTTPClient = &http.Client{Transport: failingTransport{}}
		cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
		return cfg, nil
	}
	noConfig := func() (aws.Config, error) { return aws.Config{}, errors.New("no credentials") }

	tests := []struct {
		name  string
		flags targetFlags
		cfg   func() (aws.Config, error)
		want  int
		input bool     // the error is a *targets.InputError
		msg   []string // in the message
	}{
		{"unknown OU", targetFlags{OUs: []string{"Root/Nowhere"}}, moto, exitUsage, true, []string{`"Root/Nowhere"`, "Root/Workloads"}},
		{"unknown excluded OU", targetFlags{ExcludeOUs: []string{"ou-zzzz-zzzzzzzz"}}, moto, exitUsage, true, []string{`"ou-zzzz-zzzzzzzz"`}},
		{"account not in the organization", targetFlags{Accounts: []string{"999999999999"}}, moto, exitUsage, true, []string{"999999999999", "--account"}},
		{"a good selection", targetFlags{OUs: []string{"Root/Workloads"}}, moto, exitOK, false, nil},
		{"Organizations denies access", targetFlags{OUs: []string{"Root/Nowhere"}}, denied, exitUnknown, false,
			[]string{"discover accounts", "--accounts-file", "AccessDeniedException", "management account"}},
		{"the network fails", targetFlags{}, broken, exitUnknown, false, []string{"discover accounts", "plain failure"}},
		{"no AWS config", targetFlags{}, noConfig, exitUnknown, false, []string{"no credentials"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := tt.flags.resolve(context.Background(), tt.cfg)
			// Callers wrap it further on the way to main: the code must not change.
			if err != nil {
				err = fmt.Errorf("up: %w", err)
			}
			require.Equal(t, tt.want, codeOf(err), "error: %v", err)
			require.Equal(t, tt.input, errors.As(err, new(*targets.InputError)), "error: %v", err)
			for _, w := range tt.msg {
				require.ErrorContains(t, err, w)
			}
			if tt.want == exitOK {
				require.Equal(t, []string{org.Accounts["app"]}, accountIDs(res.Targets))
			}
		})
	}
	require.Positive(t, proxy.Injected(), "the denial did reach the SDK")
}

func accountIDs(accts []targets.Account) []string {
	out := []string{}
	for _, a := range accts {
		out = append(out, a.ID)
	}
	return out
}

// TestMissingPulumiCLIIsNotUsage: rollout.New's failure to find a Pulumi CLI is returned as
// it is, by its type, while its other errors (bad flags) are usage errors.
func TestMissingPulumiCLIIsNotUsage(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("PULUMI_CLI", filepath.Join(empty, "pulumi"))
	t.Setenv("PATH", empty)
	t.Setenv("BYOC_ACCESS_CACHE", empty)
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", testPassphrase)
	c := &cobra.Command{}
	f := &fleetFlags{Backend: "file://" + t.TempDir(), RunDir: t.TempDir(), MaxFailures: "0"}

	_, _, err := f.runner(context.Background(), c, rollout.OpStatus, rollout.StateDeployment())
	require.ErrorAs(t, err, new(*pulumicli.NotFoundError))
	require.False(t, errors.As(err, new(usageError)), "a missing CLI is not the command line's fault: %v", err)
	require.Equal(t, exitUnknown, codeOf(err))

	f.StackPrefix = "no spaces"
	_, _, err = f.runner(context.Background(), c, rollout.OpStatus, rollout.StateDeployment())
	require.True(t, errors.As(err, new(usageError)), "a bad flag is: %v", err)
	require.Equal(t, exitUsage, codeOf(err))
}
