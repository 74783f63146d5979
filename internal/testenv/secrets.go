package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// AssertNoSecrets fails the test if any secret appears in the texts or in any file under dirs.
func AssertNoSecrets(t testing.TB, texts []string, dirs []string, secrets ...string) {
	t.Helper()
	check := func(where, text string) {
		for _, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				t.Errorf("%s contains a secret (%d characters)", where, len(s))
			}
		}
	}
	for i, text := range texts {
		check("output "+string(rune('0'+i%10)), text)
	}
	for _, dir := range dirs {
		err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			check(path, string(b))
			return nil
		})
		if err != nil {
			t.Fatalf("walk %s: %v", dir, err)
		}
	}
}
