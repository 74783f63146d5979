package testenv

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TerraformMirrorEnv names a Terraform filesystem plugin mirror to use instead of looking
// for one in the usual places.
const TerraformMirrorEnv = "BYOC_TF_PLUGIN_MIRROR"

// TerraformAWSVersion is the Terraform AWS provider the comparison runs: the one pulumi-aws
// 6.83 bridges, so Terraform and the test provider drive the same provider code.
const TerraformAWSVersion = "5.100.0"

// terraformMirrors are where Terraform's documentation puts implied local mirrors, after the
// machine-wide /opt/tf-plugins this project's machines use.
func terraformMirrors() []string {
	home, _ := os.UserHomeDir()
	return []string{
		"/opt/tf-plugins",
		filepath.Join(home, ".terraform.d", "plugins"),
		filepath.Join(home, ".local", "share", "terraform", "plugins"),
		"/usr/local/share/terraform/plugins",
		"/usr/share/terraform/plugins",
	}
}

// FindTerraformMirror returns the filesystem plugin mirror that holds hashicorp/aws at
// TerraformAWSVersion for this platform, unpacked: TerraformMirrorEnv, else the first of the
// usual places that has it.
func FindTerraformMirror() (string, error) {
	rel := filepath.Join("registry.terraform.io", "hashicorp", "aws", TerraformAWSVersion, "linux_amd64")
	candidates := terraformMirrors()
	if dir := os.Getenv(TerraformMirrorEnv); dir != "" {
		candidates = []string{dir}
	}
	for _, dir := range candidates {
		matches, _ := filepath.Glob(filepath.Join(dir, rel, "terraform-provider-aws_v*"))
		if len(matches) > 0 {
			return dir, nil
		}
	}
	return "", fmt.Errorf("no Terraform plugin mirror with hashicorp/aws %s (looked for %s under %s); set %s to one",
		TerraformAWSVersion, rel, strings.Join(candidates, ", "), TerraformMirrorEnv)
}

// Terraform is the Terraform CLI set up to install providers from the local filesystem
// mirror only, with a working copy of a module and one working directory per root module.
type Terraform struct {
	// Bin is the terraform executable; Version its `terraform version` first line.
	Bin, Version string
	// Mirror is the filesystem plugin mirror; ConfigFile the CLI config naming it, passed
	// to every command through TF_CLI_CONFIG_FILE.
	Mirror, ConfigFile string
	// Module is the working copy of the module; Dropped the blocks left out of it.
	Module  string
	Dropped []string
	root    string
}

// NewTerraform prepares Terraform for the test: the CLI from PATH, a CLI config whose
// provider_installation names the mirror (and forbids direct downloads, so nothing reaches
// the network), and a working copy of the module at src made by PrepareModule. It skips (fails
// under RequireEnv) when terraform or the mirror is missing.
func NewTerraform(t testing.TB, src string) *Terraform {
	t.Helper()
	bin, err := exec.LookPath("terraform")
	if err != nil {
		Missing(t, "terraform is not on PATH: install Terraform 1.x to run the Terraform side")
	}
	mirror, err := FindTerraformMirror()
	if err != nil {
		Missing(t, "%v", err)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("terraform version: %v", err)
	}
	root := t.TempDir()
	tf := &Terraform{Bin: bin, Version: strings.SplitN(strings.TrimSpace(string(out)), "\n", 2)[0], Mirror: mirror,
		ConfigFile: filepath.Join(root, "terraform.rc"), Module: filepath.Join(root, "module"), root: root}
	cfg := fmt.Sprintf(`provider_installation {
  filesystem_mirror {
    path    = %q
    include = ["registry.terraform.io/*/*"]
  }
  direct {
    exclude = ["registry.terraform.io/*/*"]
  }
}
`, mirror)
	if err := os.WriteFile(tf.ConfigFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if tf.Dropped, err = PrepareModule(src, tf.Module); err != nil {
		t.Fatalf("working copy of the Terraform module %s: %v", src, err)
	}
	return tf
}

var (
	localFileStart = regexp.MustCompile(`^resource\s+"local_file"\s+"([A-Za-z0-9_-]+)"\s*\{\s*$`)
	writeFilesOff  = regexp.MustCompile(`^\s*count\s*=\s*var\.write_policy_files\s*\?\s*1\s*:\s*0\s*$`)
)

// PrepareModule copies the Terraform module at src (its .tf files and files/ folder) to dst,
// leaving out its `resource "local_file"` blocks, and returns their addresses.
//
// Why: the StreamNative module writes its policies to local files for debugging, off by
// default (count = var.write_policy_files ? 1 : 0), but the blocks alone make `terraform init`
// want the hashicorp/local provider, which the plugin mirror does not hold. A block without
// exactly that count, or any other mention of local_file left over, is an error: then
// dropping it could change what the module deploys.
func PrepareModule(src, dst string) ([]string, error) {
	var dropped []string
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			if rel != "." && rel != "files" && !strings.HasPrefix(rel, "files"+string(filepath.Separator)) {
				return filepath.SkipDir
			}
			return os.MkdirAll(target, 0o755)
		case rel == filepath.Base(rel) && !strings.HasSuffix(rel, ".tf"):
			return nil // README and the like
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.HasSuffix(rel, ".tf") {
			kept, names, err := dropLocalFiles(string(b))
			if err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
			b = []byte(kept)
			dropped = append(dropped, names...)
		}
		return os.WriteFile(target, b, 0o644)
	})
	return dropped, err
}

func dropLocalFiles(text string) (string, []string, error) {
	var out strings.Builder
	var names []string
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		m := localFileStart.FindStringSubmatch(line)
		if m == nil {
			out.WriteString(line + "\n")
			continue
		}
		// The block ends where its braces balance; "${...}" interpolations balance on their
		// own line, and the module has no heredocs.
		depth, gated := strings.Count(line, "{")-strings.Count(line, "}"), false
		for depth > 0 && sc.Scan() {
			l := sc.Text()
			if depth == 1 && writeFilesOff.MatchString(l) {
				gated = true
			}
			depth += strings.Count(l, "{") - strings.Count(l, "}")
		}
		if depth != 0 {
			return "", nil, fmt.Errorf(`resource "local_file" %q does not end`, m[1])
		}
		if !gated {
			return "", nil, fmt.Errorf(`resource "local_file" %q is not off by default (count = var.write_policy_files ? 1 : 0): dropping it would change what the module does`, m[1])
		}
		names = append(names, "local_file."+m[1])
	}
	if err := sc.Err(); err != nil {
		return "", nil, err
	}
	if strings.Contains(out.String(), "local_file") {
		return "", nil, errors.New("local_file is still mentioned after its resources were dropped")
	}
	return out.String(), names, nil
}

// Workspace writes the root module of one working directory, named name: the AWS provider
// (pinned to TerraformAWSVersion) in region assuming roleARN, and the module with vars. It
// returns the directory; state stays local, in it.
func (tf *Terraform) Workspace(t testing.TB, name, region, roleARN string, vars map[string]any) string {
	t.Helper()
	dir := filepath.Join(tf.root, "accounts", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	module := map[string]any{"source": "../../module"}
	for k, v := range vars {
		module[k] = v
	}
	root := map[string]any{
		"terraform": map[string]any{"required_providers": map[string]any{
			"aws": map[string]any{"source": "hashicorp/aws", "version": TerraformAWSVersion}}},
		"provider": map[string]any{"aws": map[string]any{
			"region":      region,
			"assume_role": map[string]any{"role_arn": roleARN, "session_name": "byoc-access-bench-" + name},
		}},
		"module": map[string]any{"vendor_access": module},
	}
	b, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.tf.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Command is `terraform args...` in dir, with the mirror's CLI config, no checkpoint
// (update check) call, automation output, and env added to this process's environment.
func (tf *Terraform) Command(ctx context.Context, dir string, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, tf.Bin, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "TF_CLI_CONFIG_FILE="+tf.ConfigFile, "CHECKPOINT_DISABLE=1",
		"TF_IN_AUTOMATION=1", "TF_INPUT=0"), env...)
	return cmd
}
