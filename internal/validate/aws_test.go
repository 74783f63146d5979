package validate_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/validate"
)

func TestRegion(t *testing.T) {
	tests := []struct {
		region, partition string
	}{
		{"us-east-1", "aws"},
		{"eu-central-2", "aws"},
		{"il-central-1", "aws"},
		{"us-gov-west-1", "aws-us-gov"},
		{"cn-northwest-1", "aws-cn"},
		{"us-isob-east-1", "aws-iso-b"},
		{"mars-north-9", ""},
		{"us-east-1; rm -rf /", ""},
		{"US-EAST-1", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.region, func(t *testing.T) {
			p, err := validate.Region(tt.region)
			if tt.partition == "" {
				require.Error(t, err)
				require.Contains(t, err.Error(), "us-east-1")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.partition, p)
		})
	}
}

func TestPartition(t *testing.T) {
	for _, p := range []string{"aws", "aws-us-gov", "aws-cn"} {
		require.NoError(t, validate.Partition(p))
	}
	for _, p := range []string{"aws-mars", "", "AWS"} {
		require.Error(t, validate.Partition(p), p)
	}
}
