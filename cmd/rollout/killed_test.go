package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/pulumicli"
	"github.com/byoc-access/byoc-access/internal/testenv"
	"github.com/byoc-access/byoc-access/rollout"
)

// iamGate sits between every AWS client (the rollout's SDK, the CLI's provider) and moto,
// and can hold one IAM call so a test can kill the CLI at that exact point of an update.
type iamGate struct {
	mu sync.Mutex
	// action is the IAM action to hold ("" holds nothing); afterAWS holds its answer after
	// moto has carried it out, else the request before moto sees it.
	action   string
	afterAWS bool
	// held receives the call's RoleName/PolicyName once the call is held; release lets it go.
	held    chan string
	release chan struct{}
}

func startIAMGate(t *testing.T, target string) (*iamGate, string) {
	t.Helper()
	u, err := url.Parse(target)
	require.NoError(t, err)
	rp := httputil.NewSingleHostReverseProxy(u)
	g := &iamGate{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		params, _ := url.ParseQuery(string(body))
		g.mu.Lock()
		hold := g.action != "" && params.Get("Action") == g.action
		after, held, release := g.afterAWS, g.held, g.release
		if hold {
			g.action = "" // one call only
		}
		g.mu.Unlock()
		if !hold {
			rp.ServeHTTP(w, r)
			return
		}
		name := params.Get("RoleName") + params.Get("PolicyName")
		if after {
			rec := httptest.NewRecorder()
			rp.ServeHTTP(rec, r)
			held <- name
			<-release
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
			return
		}
		held <- name
		<-release
		// Its client is dead: the call never reaches IAM.
		http.Error(w, "dropped", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	return g, srv.URL
}

// arm holds the next call of action; it returns the channel that names the held entity.
func (g *iamGate) arm(action string, afterAWS bool) <-chan string {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.action, g.afterAWS = action, afterAWS
	g.held, g.release = make(chan string, 1), make(chan struct{})
	return g.held
}

// open lets a held call go (its CLI is dead by then): an answer held after IAM acted goes
// out, a request held before IAM saw it is dropped. It holds nothing more.
func (g *iamGate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.action = ""
	if g.release != nil {
		close(g.release)
		g.release = nil
	}
}

// pendingIn reads the pending operations of a stack's checkpoint in a file backend.
func pendingIn(t *testing.T, stateDir, stack string) []apitype.OperationV2 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(stateDir, ".pulumi", "stacks", "byoc-access", stack+".json"))
	if os.IsNotExist(err) {
		gz, gerr := os.ReadFile(filepath.Join(stateDir, ".pulumi", "stacks", "byoc-access", stack+".json.gz"))
		require.NoError(t, gerr)
		zr, gerr := gzip.NewReader(bytes.NewReader(gz))
		require.NoError(t, gerr)
		b, err = io.ReadAll(zr)
	}
	require.NoError(t, err)
	var vc apitype.VersionedCheckpoint
	require.NoError(t, json.Unmarshal(b, &vc))
	var cp apitype.CheckpointV3
	require.NoError(t, json.Unmarshal(vc.Checkpoint, &cp))
	if cp.Latest == nil {
		return nil
	}
	return cp.Latest.PendingOperations
}

// stracedCLI is a Pulumi CLI that strace SIGKILLs on its first write into path: for the
// stack's checkpoint sidecar, right after fileblob has truncated it while saving the
// checkpoint.
func stracedCLI(t *testing.T, path string) string {
	t.Helper()
	straceBin, err := exec.LookPath("strace")
	if err != nil {
		testenv.Missing(t, "strace is not installed (apt-get install strace): it places the SIGKILL at the checkpoint's sidecar write")
	}
	real := os.Getenv("PULUMI_CLI")
	if real == "" {
		if p, err := exec.LookPath("pulumi"); err == nil {
			real = p
		} else {
			real = pulumicli.CachedPath()
		}
	}
	dir := t.TempDir()
	wrapper := filepath.Join(dir, "pulumi")
	script := fmt.Sprintf("#!/bin/sh\nexec %s -f -o /dev/null -P %s -e trace=write -e inject=write:signal=KILL:when=1 %s \"$@\"\n", straceBin, path, real)
	require.NoError(t, os.WriteFile(wrapper, []byte(script), 0o755))
	return wrapper
}

// TestKilledUpRecoversWithRealProvider SIGKILLs the CLI of a real update of the Streamkap
// preset into a moto member account, at several points, one account each; every time the
// next runs get the account exactly to the spec with only the step they name:
// `rollout unlock --yes` for the lock the kill left, then `rollout up`. An IAM entity the
// killed update created and state never recorded is imported by that `up`.
func TestKilledUpRecoversWithRealProvider(t *testing.T) {
	if _, err := pulumicli.Find(); err != nil {
		testenv.Missing(t, "needs the real Pulumi CLI (run scripts/install-pulumi.sh): %v", err)
	}
	m := testenv.StartMoto(t, testenv.WithoutManagedPolicies())
	points := []string{"stack-init", "after-lock", "mid-create", "checkpoint-write"}
	spec := testenv.OrgSpec{OUs: []string{"Workloads"}}
	for _, p := range points {
		spec.Accounts = append(spec.Accounts, testenv.AccountSpec{Name: p, OU: "Workloads"})
	}
	org := testenv.SeedOrganization(t, m, spec)
	gate, endpoint := startIAMGate(t, m.Endpoint)
	t.Cleanup(gate.open)
	m.UseInEnv(t)
	t.Setenv("AWS_ENDPOINT_URL", endpoint)
	for _, k := range []string{"AWS_SESSION_TOKEN", "AWS_PROFILE", "PULUMI_CONFIG_PASSPHRASE_FILE", "PULUMI_BACKEND_URL"} {
		t.Setenv(k, "")
	}
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", testPassphrase)
	provider := testenv.UseAWSProvider(t)
	stateDir := t.TempDir()
	backend := "file://" + stateDir
	vendor := []string{"--vendor", "streamkap"}

	fleet := func(t *testing.T, args ...string) (*rollout.Report, string, int) {
		t.Helper()
		args = append(args, "--backend", backend, "--run-dir", t.TempDir(), "--output", "json")
		start := time.Now()
		out, errOut, code := runCLI(t, args...)
		t.Logf("rollout %s: exit %d in %s", args[0], code, time.Since(start).Round(100*time.Millisecond))
		for _, line := range strings.Split(errOut, "\n") {
			if strings.Contains(line, " repaired: ") {
				t.Logf("  %s", line)
			}
		}
		var rep rollout.Report
		require.NoError(t, json.Unmarshal([]byte(out), &rep), "stdout: %s\nstderr: %s", out, errOut)
		require.Len(t, rep.Results, 1, errOut)
		return &rep, errOut, code
	}
	iamOf := func(t *testing.T, id string) *iam.Client {
		return iam.NewFromConfig(m.MemberConfig(t, id))
	}

	realCLI := os.Getenv("PULUMI_CLI")
	for _, point := range points {
		t.Run(point, func(t *testing.T) {
			id := org.Accounts[point]
			upArgs := append([]string{"up", "--account", id}, vendor...)
			sidecar := filepath.Join(stateDir, ".pulumi", "stacks", "byoc-access", id+".json.attrs")

			// The killed update.
			killedArgs := upArgs
			var held <-chan string
			switch point {
			case "stack-init":
				// Killed in `stack init`, the first CLI command on a new account's stack.
				t.Setenv("PULUMI_CLI", stracedCLI(t, sidecar))
			case "after-lock":
				// The update holds the lock and is about to create its first policy.
				held = gate.arm("CreatePolicy", false)
			case "mid-create":
				// IAM has created the role; the CLI never hears so.
				held = gate.arm("CreateRole", true)
			case "checkpoint-write":
				// A deployed account's update, killed saving its first checkpoint.
				rep, errOut, code := fleet(t, upArgs...)
				require.Equal(t, exitOK, code, "%s\n%+v", errOut, rep.Results[0])
				t.Setenv("PULUMI_CLI", stracedCLI(t, sidecar))
				killedArgs = append(upArgs, "--force")
			}
			done := make(chan *rollout.Report, 1)
			go func() {
				rep, _, _ := fleet(t, killedArgs...)
				done <- rep
			}()
			var killedAt string
			if held != nil {
				select {
				case killedAt = <-held:
				case <-time.After(4 * time.Minute):
					t.Fatal("the update never reached the held IAM call")
				}
				pid := testenv.CLIProcess("up", id)
				require.NotZero(t, pid, "the update's CLI process")
				require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
				gate.open()
			}
			rep := <-done
			require.Equal(t, rollout.StatusFailed, rep.Results[0].Status, "the killed update fails: %+v", rep.Results[0])
			t.Logf("killed at %s (%s): %s", point, killedAt, rep.Results[0].Error)
			t.Setenv("PULUMI_CLI", realCLI)
			provider.RequireNoLeftovers(t, 30*time.Second)

			if point == "mid-create" {
				_, err := iamOf(t, id).GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String(killedAt)})
				require.NoError(t, err, "IAM has the role the killed update created")
				var pending []string
				for _, op := range pendingIn(t, stateDir, id) {
					pending = append(pending, string(op.Type)+" "+string(op.Resource.Type))
				}
				require.Contains(t, pending, "creating aws:iam/role:Role", "state does not know it: a pending create")
				// Offboarding from here (destroy removes the role itself) is
				// TestDestroyAfterAKilledUp's; this one recovers with `up`.
			}
			if point == "checkpoint-write" {
				info, err := os.Stat(sidecar)
				require.NoError(t, err)
				require.Zero(t, info.Size(), "killed between the sidecar's truncation and its write")
			}

			// The next run succeeds, or fails naming the lock the kill left and the one step
			// that clears it.
			rep, errOut, code := fleet(t, upArgs...)
			said := errOut
			provider.RequireNoLeftovers(t, 30*time.Second)
			if code != exitOK {
				require.Equal(t, exitFailed, code, errOut)
				require.Equal(t, rollout.KindLockHeld, rep.Results[0].Kind, "%+v", rep.Results[0])
				require.Contains(t, rep.Results[0].Error, "rollout unlock")
				out, errOut, code := runCLI(t, "unlock", "--backend", backend, "--yes")
				require.Equal(t, exitOK, code, "%s\n%s", out, errOut)

				// Then `up` completes the account with nothing to untangle by hand.
				rep, errOut, code = fleet(t, upArgs...)
				said += errOut
				require.Equal(t, exitOK, code, "%s\n%+v", errOut, rep.Results[0])
				provider.RequireNoLeftovers(t, 30*time.Second)
			}
			require.Equal(t, rollout.StatusSucceeded, rep.Results[0].Status)
			switch point {
			case "mid-create":
				require.Regexp(t, `repaired: a killed update left \d+ pending creates in stack `+id+`; [^;]*role/`+killedAt+`[^;]* exist in the account: importing them`, said)
				require.Contains(t, said, "repaired: cleared")
			case "checkpoint-write":
				require.Contains(t, said, "repaired: removed .pulumi/stacks/byoc-access/"+id+".json.attrs: torn metadata sidecar")
			}
			for _, op := range pendingIn(t, stateDir, id) {
				require.NotEqual(t, apitype.OperationTypeCreating, op.Type, "no pending create is left: %s", op.Resource.URN)
			}

			out, errOut, code := runCLI(t, append([]string{"verify", "--account", id}, vendor...)...)
			require.Equal(t, exitOK, code, "the account is exactly as the spec says:\n%s\n%s", out, errOut)

			// And state holds all of it: a forced update changes nothing.
			rep, errOut, code = fleet(t, append(upArgs, "--force")...)
			require.Equal(t, exitOK, code, errOut)
			for op, n := range rep.Results[0].Changes {
				require.True(t, op == "same" || n == 0, "a forced update after recovery changes nothing: %v", rep.Results[0].Changes)
			}
			provider.RequireNoLeftovers(t, 30*time.Second)
		})
	}
}
