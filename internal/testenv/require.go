package testenv

import (
	"os"
	"testing"
)

// RequireEnv is the environment switch under which a missing integration prerequisite
// (moto, the Pulumi CLI, an AWS provider, the published vendor material) fails the test
// instead of skipping it. .ci/run sets it, so CI can never pass by skipping; a person running
// the tests by hand gets a skip that says what is missing.
const RequireEnv = "BYOC_REQUIRE_INTEGRATION"

// Missing skips the test saying what is missing and how to get it, or fails it under
// RequireEnv.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv(RequireEnv) != "" {
		t.Fatalf("integration prerequisite missing ("+RequireEnv+" is set, so this fails instead of skipping): "+format, args...)
	}
	t.Skipf(format, args...)
}
