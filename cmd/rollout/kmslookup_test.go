package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/rollout"
)

// TestStreamNativeDefaultKMSKeys: StreamNative without KMS key parameters grants its runtime
// role each account's AWS-managed keys alias/aws/ebs and alias/aws/s3, looked up at deploy
// time with kms/getKey (which the test provider translates to the bridge's getKmsKey). The
// deployed policy names the account's own keys, as KMS resolves the aliases, and verify, which
// resolves them with the SDK, is clean.
func TestStreamNativeDefaultKMSKeys(t *testing.T) {
	f := newRealFleet(t, 2)
	ctx := context.Background()
	vendor := []string{"--vendor", "streamnative", "--param", "external_id=o-abcde"}
	fleet := []string{"--ou", "Root/Workloads", "--parallel", "2"}

	rep := f.report(t, exitOK, args([]string{"up"}, vendor, fleet)...)
	requireAll(t, rep, len(f.ids), rollout.StatusSucceeded)
	keys := map[string]bool{}
	for _, id := range f.ids {
		cfg := f.accountConfig(t, id)
		var want []string
		for _, alias := range []string{"alias/aws/ebs", "alias/aws/s3"} {
			k, err := kms.NewFromConfig(cfg).DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(alias)})
			require.NoError(t, err, "account %s: %s", id, alias)
			arn := aws.ToString(k.KeyMetadata.Arn)
			require.Contains(t, arn, ":"+id+":key/", "account %s: %s is the account's own key", id, alias)
			want = append(want, arn)
			keys[arn] = true
		}

		c := iam.NewFromConfig(cfg)
		arn := aws.String("arn:aws:iam::" + id + ":policy/StreamNative/StreamNativeCloudRuntimePolicy")
		pol, err := c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: arn})
		require.NoError(t, err)
		ver, err := c.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: arn, VersionId: pol.Policy.DefaultVersionId})
		require.NoError(t, err)
		var doc struct {
			Statement []struct {
				Sid      string
				Resource any
			}
		}
		require.NoError(t, json.Unmarshal([]byte(unescapeDoc(aws.ToString(ver.PolicyVersion.Document))), &doc))
		granted := 0
		for _, st := range doc.Statement {
			if st.Sid == "csik1" || st.Sid == "csik2" {
				require.ElementsMatch(t, want, resources(st.Resource), "account %s: statement %s", id, st.Sid)
				granted++
			}
		}
		require.Equal(t, 2, granted, "account %s: the two statements on the KMS keys", id)
	}
	require.Len(t, keys, 2*len(f.ids), "every account has keys of its own")

	out, errOut, code := f.run(t, args([]string{"verify"}, vendor, fleet[:2])...)
	require.Equal(t, exitOK, code, "%s\n%s", out, errOut)
}

// resources is a statement's Resource as a list.
func resources(r any) []string {
	switch r := r.(type) {
	case string:
		return []string{r}
	case []any:
		out := make([]string, 0, len(r))
		for _, x := range r {
			s, _ := x.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}
