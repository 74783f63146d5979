package testenv

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/byoc-access/byoc-access/rollout/access"
)

// RetryingConfig is the SDK config the project uses in production (access.NewAWSConfig, with
// its retryer), pointed at endpoint (moto, or a fault proxy in front of it).
func RetryingConfig(t testing.TB, endpoint string) aws.Config {
	t.Helper()
	cfg, err := access.NewAWSConfig(context.Background(), Region,
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, "")),
		config.WithBaseEndpoint(endpoint))
	if err != nil {
		t.Fatalf("aws config: %v", err)
	}
	return cfg
}

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
