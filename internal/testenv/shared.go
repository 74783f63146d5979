package testenv

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// SharedFile returns the path of a file of the published vendor material (the shared folder
// beside the repository, or BYOC_SHARED_DIR), and skips the test, saying so, where it is absent.
func SharedFile(t testing.TB, rel string) string {
	t.Helper()
	dir := os.Getenv("BYOC_SHARED_DIR")
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			Missing(t, "%v; set BYOC_SHARED_DIR to the published vendor material", err)
		}
		dir = filepath.Join(filepath.Dir(root), "shared")
	}
	path := filepath.Join(dir, rel)
	if _, err := os.Stat(path); err != nil {
		Missing(t, "published vendor material %s is absent (set BYOC_SHARED_DIR to the folder with seeds/ and anchors/): not checked", path)
	}
	return path
}

// repoRoot is the folder of the go.mod above the test's working directory: the repository's.
func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(wd, "go.mod")); err == nil {
			return wd, nil
		}
		parent := filepath.Dir(wd)
		if parent == wd {
			return "", errors.New("no go.mod above the test directory")
		}
		wd = parent
	}
}

// SeedJSON returns the n-th JSON policy document (0 first) of a seed file of the published
// vendor material, such as the Streamkap seed's provision, deprovision and trust documents.
func SeedJSON(t testing.TB, rel string, n int) string {
	t.Helper()
	text, err := os.ReadFile(SharedFile(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	rest := string(text)
	for i := 0; ; i++ {
		start := strings.Index(rest, "{\n  \"Version\"")
		if start < 0 {
			t.Fatalf("%s has %d JSON policy documents; document %d was asked for", rel, i, n)
		}
		dec := json.NewDecoder(strings.NewReader(rest[start:]))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			t.Fatalf("%s: document %d: %v", rel, i, err)
		}
		if i == n {
			return string(raw)
		}
		rest = rest[start+int(dec.InputOffset()):]
	}
}

// RolloutBinary builds cmd/rollout into the test's temporary folder, for tests that run the
// binary users run as a process of its own (to kill it, or to measure it).
func RolloutBinary(t testing.TB) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatalf("build cmd/rollout: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "rollout")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/rollout")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/rollout: %v: %s", err, out)
	}
	return bin
}
