package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/testenv"
)

// StreamNative's default KMS keys are the account's AWS-managed keys, which the module looks
// up at deploy time; verify must compare against the same ARNs, not render's placeholder.
func TestVerifyResolvesDefaultKMSKeysInTheAccount(t *testing.T) {
	m := testenv.StartMoto(t, testenv.WithoutManagedPolicies())
	cfg := m.AWSConfig(t)
	key, err := kms.NewFromConfig(cfg).DescribeKey(context.Background(), &kms.DescribeKeyInput{KeyId: aws.String("alias/aws/ebs")})
	require.NoError(t, err)
	ebsARN := aws.ToString(key.KeyMetadata.Arn)

	reader := liveReader{base: cfg, direct: true}
	vf := &vendorFlags{Vendor: "streamnative", Params: []string{"external_id=o-abcde"}}
	state, err := renderFor(vf, testenv.MotoAccount, "us-east-1", reader.kmsKeyARN(context.Background(), testenv.MotoAccount))
	require.NoError(t, err)
	doc, err := json.Marshal(state.Policies["StreamNativeCloudRuntimePolicy"].Document)
	require.NoError(t, err)
	require.Contains(t, string(doc), ebsARN, "the account's alias/aws/ebs key")
	require.NotContains(t, string(doc), "LOOKUP(alias/aws/ebs)")
}
