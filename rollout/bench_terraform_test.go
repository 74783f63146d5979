package rollout_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/byoc-access/byoc-access/internal/testenv"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

// terraformModule is StreamNative's Terraform module v3.25.0 in the published vendor material
// (Apache-2.0): read from there, never copied into the project.
const terraformModule = "anchors/streamnative-terraform-module-v3.25.0"

// terraformSide is StreamNative's own Terraform module, applied the way a Terraform user
// applies it to many accounts: one working directory and local state per account, the AWS
// provider assuming that account's OrganizationAccountAccessRole, P accounts at a time.
type terraformSide struct {
	tf       *testenv.Terraform
	dirs     map[string]string // account ID -> working directory
	accounts []targets.Account
	parallel int
	env      []string // moto endpoint and credentials
	initTime measurement
}

func newTerraformSide(b *testing.B, accounts []targets.Account, parallel int, env []string) *terraformSide {
	b.Helper()
	src := testenv.SharedFile(b, terraformModule)
	s := &terraformSide{tf: testenv.NewTerraform(b, src), dirs: map[string]string{}, accounts: accounts, parallel: parallel, env: env}
	for _, a := range accounts {
		// The same inputs as the rollout's --param flags.
		s.dirs[a.ID] = s.tf.Workspace(b, a.ID, "us-east-1", "arn:aws:iam::"+a.ID+":role/OrganizationAccountAccessRole", map[string]any{
			"external_id":      benchExternalID,
			"ebs_kms_key_arns": []string{benchEBSKey},
			"s3_kms_key_arns":  []string{benchS3Key},
		})
	}
	return s
}

// run runs terraform args in every account's directory, P at a time, with the tree's marker;
// check judges each command's exit code and output. It fails the benchmark on the first
// error, naming the account.
func (s *terraformSide) run(b *testing.B, tree *testenv.ProcTree, check func(code int, out string) error, args ...string) {
	b.Helper()
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	next := make(chan targets.Account)
	for w := 0; w < s.parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range next {
				var out bytes.Buffer
				cmd := s.tf.Command(context.Background(), s.dirs[a.ID], append(append([]string{}, s.env...), tree.Env()), args...)
				cmd.Stdout, cmd.Stderr = &out, &out
				err := cmd.Run()
				code := 0
				var exit *exec.ExitError
				if errors.As(err, &exit) {
					code, err = exit.ExitCode(), nil
				}
				if err == nil {
					err = check(code, out.String())
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("account %s: terraform %s: %w\n%s", a.ID, strings.Join(args, " "), err, tail(out.String(), 3000)))
					mu.Unlock()
				}
			}
		}()
	}
	for _, a := range s.accounts {
		next <- a
	}
	close(next)
	wg.Wait()
	if len(errs) > 0 {
		b.Fatal(errors.Join(errs...))
	}
}

func (s *terraformSide) init(b *testing.B, tree *testenv.ProcTree) {
	s.run(b, tree, exitZero, "init", "-input=false", "-no-color")
}

// apply is `terraform apply -auto-approve`; want is the summary it must print, e.g.
// "Resources: 15 added, 0 changed, 0 destroyed" the first time and "0 added" after.
func (s *terraformSide) apply(b *testing.B, tree *testenv.ProcTree, want string) {
	s.run(b, tree, func(code int, out string) error {
		if code != 0 {
			return fmt.Errorf("exit code %d", code)
		}
		if !strings.Contains(out, want) {
			return fmt.Errorf("the output does not say %q", want)
		}
		return nil
	}, "apply", "-auto-approve", "-input=false", "-no-color")
}

// plan is `terraform plan -detailed-exitcode` with extra flags; exit code 0 means no changes,
// 2 changes (which here is an error: nothing changed since the apply).
func (s *terraformSide) plan(b *testing.B, tree *testenv.ProcTree, extra ...string) {
	s.run(b, tree, exitZero, append([]string{"plan", "-detailed-exitcode", "-input=false", "-no-color"}, extra...)...)
}

func exitZero(code int, _ string) error {
	if code != 0 {
		return fmt.Errorf("exit code %d", code)
	}
	return nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
