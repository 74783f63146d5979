package main

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/testenv"
	"github.com/byoc-access/byoc-access/rollout"
)

// TestPerAccountParamsDeploy deploys the datadog preset (Datadog issues a distinct external ID
// for each AWS account) through the real AWS provider into
// three moto member accounts, each with its own external ID from another source: a parameters
// file, an Organizations tag and a command. verify accepts the same sources; each account's
// trust policy, read back through its execution role, holds its own ID; and changing one
// account's value redeploys that account only.
func TestPerAccountParamsDeploy(t *testing.T) {
	testenv.UseAWSProvider(t)
	m := testenv.StartMoto(t, testenv.WithoutManagedPolicies())
	org := testenv.SeedOrganization(t, m, testenv.OrgSpec{
		OUs: []string{"Workloads"},
		Accounts: []testenv.AccountSpec{
			{Name: "from-file", OU: "Workloads"},
			{Name: "from-tag", OU: "Workloads", Tags: map[string]string{"datadog-external-id": "tag-ext-2"}},
			{Name: "from-command", OU: "Workloads"},
		},
	})
	m.UseInEnv(t)
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", testPassphrase)
	t.Setenv("PULUMI_CONFIG_PASSPHRASE_FILE", "")
	state := t.TempDir()
	t.Setenv("PULUMI_BACKEND_URL", "file://"+state)
	fileID, tagID, cmdID := org.Accounts["from-file"], org.Accounts["from-tag"], org.Accounts["from-command"]

	dir := t.TempDir()
	paramsFile := filepath.Join(dir, "params.yaml")
	writeFile(t, paramsFile, `"`+fileID+`": {external_id: file-ext-1}`+"\n")
	// The command prints a value derived from its last argument, the account ID, and a line
	// on stderr, which goes to the account's log.
	script := filepath.Join(dir, "external-id")
	writeFile(t, script, "#!/bin/sh\necho \"asking the vendor for $1\" >&2\necho \"cmd-ext-$1\"\n")
	require.NoError(t, os.Chmod(script, 0o755))
	sources := []string{"--vendor", "datadog", "--ou", "Root/Workloads", "--params-file", paramsFile,
		"--param-from-tag", "external_id=datadog-external-id", "--param-from-command", "external_id=" + script}
	want := map[string]string{fileID: "file-ext-1", tagID: "tag-ext-2", cmdID: "cmd-ext-" + cmdID}

	up := func(wantCode int, args ...string) (*rollout.Report, string) {
		runDir := t.TempDir()
		out, errOut, code := runCLI(t, append([]string{"up", "--output", "json", "--parallel", "3", "--run-dir", runDir}, args...)...)
		require.Equal(t, wantCode, code, "stdout: %s\nstderr: %s", out, errOut)
		var rep rollout.Report
		require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
		return &rep, runDir
	}
	byID := func(rep *rollout.Report) map[string]rollout.Result {
		out := map[string]rollout.Result{}
		for _, r := range rep.Results {
			out[r.Account.ID] = r
		}
		return out
	}

	// First with a command that fails for its account: that account fails with the command's
	// error and gets no stack, the other two deploy.
	failing := filepath.Join(dir, "failing-external-id")
	writeFile(t, failing, "#!/bin/sh\necho \"vendor API: no tenant for $1\" >&2\nexit 3\n")
	require.NoError(t, os.Chmod(failing, 0o755))
	withFailing := append(append([]string{}, sources[:len(sources)-1]...), "external_id="+failing)
	rep, runDir := up(exitFailed, withFailing...)
	res := byID(rep)
	require.Equal(t, rollout.StatusSucceeded, res[fileID].Status, "%+v", res[fileID])
	require.Equal(t, rollout.StatusSucceeded, res[tagID].Status, "%+v", res[tagID])
	require.Equal(t, rollout.StatusFailed, res[cmdID].Status)
	require.Equal(t, rollout.KindConfig, res[cmdID].Kind)
	require.Contains(t, res[cmdID].Error, "exit code 3")
	require.Contains(t, res[cmdID].Error, "vendor API: no tenant for "+cmdID)
	log, err := os.ReadFile(filepath.Join(runDir, cmdID+".log"))
	require.NoError(t, err)
	require.Contains(t, string(log), "vendor API: no tenant for "+cmdID, "the command's stderr is in the account's log")
	stacks, err := filepath.Glob(filepath.Join(state, ".pulumi", "stacks", "*", cmdID+".json*"))
	require.NoError(t, err)
	require.Empty(t, stacks, "nothing of the failed account reached the backend")

	// Then with the working command: the two deployed accounts are unchanged, the third deploys.
	rep, runDir = up(exitOK, sources...)
	res = byID(rep)
	require.Equal(t, 3, rep.Counts.Succeeded, "%+v", rep.Results)
	require.True(t, res[fileID].UpToDate)
	require.True(t, res[tagID].UpToDate)
	require.False(t, res[cmdID].UpToDate)
	log, err = os.ReadFile(filepath.Join(runDir, cmdID+".log"))
	require.NoError(t, err)
	require.Contains(t, string(log), "asking the vendor for "+cmdID)
	shown, err := os.ReadFile(filepath.Join(runDir, "params.json"))
	require.NoError(t, err)
	require.Contains(t, string(shown), "tag datadog-external-id")

	// Each account's role trusts Datadog with its own external ID, read through its
	// execution role as the rollout reads it.
	for id, ext := range want {
		require.Equal(t, ext, trustExternalID(t, m.MemberConfig(t, id), "DatadogIntegrationRole"), "account %s", id)
	}

	out, errOut, code := runCLI(t, append([]string{"verify", "--output", "json"}, sources...)...)
	require.Equal(t, exitOK, code, "verify with the same sources: %s\n%s", out, errOut)
	out, _, code = runCLI(t, "verify", "--output", "json", "--vendor", "datadog", "--ou", "Root/Workloads", "--param", "external_id=one-for-all")
	require.Equal(t, exitFailed, code, "with one fleet-wide value every account has drifted: %s", out)

	// A new value for one account changes its fingerprint only.
	writeFile(t, paramsFile, `"`+fileID+`": {external_id: file-ext-1b}`+"\n")
	rep, _ = up(exitOK, sources...)
	require.Equal(t, 3, rep.Counts.Succeeded, "%+v", rep.Results)
	for _, r := range rep.Results {
		require.Equal(t, r.Account.ID != fileID, r.UpToDate, "account %s: only the changed one is redeployed", r.Account.ID)
	}
	require.Equal(t, "file-ext-1b", trustExternalID(t, m.MemberConfig(t, fileID), "DatadogIntegrationRole"))

	// plan shows each account's own values with their source, a secret one masked.
	planDir := t.TempDir()
	out, errOut, code = runCLI(t, append([]string{"plan", "--secret-param", "external_id", "--run-dir", planDir}, sources...)...)
	require.Equal(t, exitOK, code, "stdout: %s\nstderr: %s", out, errOut)
	require.Contains(t, out, "ACCOUNT       PARAMETER    VALUE     SOURCE")
	for _, w := range []string{fileID + "  external_id  ********  params file " + paramsFile + " (line 1)", tagID + "  external_id  ********  tag datadog-external-id", cmdID + "  external_id  ********  command " + script} {
		require.Contains(t, out, w)
	}
	shown, err = os.ReadFile(filepath.Join(planDir, "params.json"))
	require.NoError(t, err)
	for _, secret := range []string{"file-ext-1b", "tag-ext-2", "cmd-ext-" + cmdID} {
		require.NotContains(t, out+errOut+string(shown), secret)
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
}

// trustExternalID is the sts:ExternalId a role's trust policy requires.
func trustExternalID(t *testing.T, cfg aws.Config, roleName string) string {
	t.Helper()
	out, err := iam.NewFromConfig(cfg).GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String(roleName)})
	require.NoError(t, err)
	doc, err := url.QueryUnescape(aws.ToString(out.Role.AssumeRolePolicyDocument))
	require.NoError(t, err)
	var policy struct {
		Statement []struct {
			Condition map[string]map[string]any
		}
	}
	require.NoError(t, json.Unmarshal([]byte(doc), &policy), doc)
	for _, s := range policy.Statement {
		if v, ok := s.Condition["StringEquals"]["sts:ExternalId"]; ok {
			if list, ok := v.([]any); ok && len(list) == 1 {
				v = list[0]
			}
			s, _ := v.(string)
			return s
		}
	}
	t.Fatalf("no sts:ExternalId condition in %s", doc)
	return ""
}
