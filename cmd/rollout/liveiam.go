package main

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/byoc-access/byoc-access/iamstate"
	"github.com/byoc-access/byoc-access/iamstate/render"
	"github.com/byoc-access/byoc-access/iamstate/snapshot"
	"github.com/byoc-access/byoc-access/rollout/access"
)

// liveReader reads an account's IAM through the execution role.
type liveReader struct {
	base aws.Config
	role access.ExecutionRole
	// direct reads with the base credentials, for an account they already act in.
	direct bool
}

func (l liveReader) iam(accountID string) *iam.Client {
	if l.direct {
		return iam.NewFromConfig(l.base)
	}
	return iam.NewFromConfig(l.role.Credentials(l.base, sts.NewFromConfig(l.base), l.role.Partition, accountID))
}

// kmsKeyARN resolves a KMS key ID or alias (alias/aws/ebs) to its key ARN in the account, as
// the vendor's module does at deploy time, so verify compares real ARNs; "" leaves render's
// placeholder when the key cannot be read.
func (l liveReader) kmsKeyARN(ctx context.Context, accountID string) func(string) string {
	cfg := l.base
	if !l.direct {
		cfg = l.role.Credentials(l.base, sts.NewFromConfig(l.base), l.role.Partition, accountID)
	}
	client := kms.NewFromConfig(cfg)
	return func(keyID string) string {
		out, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(keyID)})
		if err != nil || out.KeyMetadata == nil {
			return ""
		}
		return aws.ToString(out.KeyMetadata.Arn)
	}
}

func (l liveReader) snapshot(ctx context.Context, want *iamstate.Account) (*iamstate.Account, error) {
	got, err := snapshot.Take(ctx, l.iam(want.AccountID), want.AccountID, snapshot.NamesOf(want))
	if err != nil && access.IsAccessDenied(err) {
		return nil, fmt.Errorf("account %s: read IAM through %s: %s", want.AccountID, l.role.RoleARN(l.role.Partition, want.AccountID), access.Reason(err))
	}
	return got, err
}

func renderFor(vf *vendorFlags, accountID, region string, kmsKeyARN func(string) string) (*iamstate.Account, error) {
	spec, params, err := vf.load(context.Background())
	if err != nil {
		return nil, err
	}
	tags, err := vf.tags()
	if err != nil {
		return nil, err
	}
	lookup := kmsKeyARN
	if lookup != nil {
		// Fall back to render's visible placeholder when the account's key cannot be read.
		lookup = func(keyID string) string {
			if arn := kmsKeyARN(keyID); arn != "" {
				return arn
			}
			return fmt.Sprintf("arn:aws:kms:%s:%s:key/LOOKUP(%s)", region, accountID, keyID)
		}
	}
	state, err := render.Render(spec, render.Options{AccountID: accountID, Region: region, Params: params, Tags: tags, KMSKeyARN: lookup})
	if err != nil {
		return nil, asUsage(err)
	}
	return state, nil
}
