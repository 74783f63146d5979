package validate

import "regexp"

// partitions are AWS's partitions with the regions each holds, as the AWS SDK's partition
// table (aws-sdk-go-v2 internal/endpoints/awsrulesfn/partitions.json) writes them.
var partitions = []struct {
	name    string
	regions *regexp.Regexp
}{
	{"aws", regexp.MustCompile(`^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$`)},
	{"aws-cn", regexp.MustCompile(`^cn-\w+-\d+$`)},
	{"aws-us-gov", regexp.MustCompile(`^us-gov-\w+-\d+$`)},
	{"aws-iso", regexp.MustCompile(`^us-iso-\w+-\d+$`)},
	{"aws-iso-b", regexp.MustCompile(`^us-isob-\w+-\d+$`)},
	{"aws-iso-e", regexp.MustCompile(`^eu-isoe-\w+-\d+$`)},
	{"aws-iso-f", regexp.MustCompile(`^us-isof-\w+-\d+$`)},
	{"aws-eusc", regexp.MustCompile(`^eusc-(de)-\w+-\d+$`)},
}

// Region checks that region is an AWS region name and returns its partition, so that a typo
// (mars-north-9, or text that is not a region at all) fails before any stack is written
// rather than in every account.
func Region(region string) (string, error) {
	// The more specific partitions first: us-gov-west-1 also matches aws's pattern.
	for i := len(partitions) - 1; i >= 0; i-- {
		if partitions[i].regions.MatchString(region) {
			return partitions[i].name, nil
		}
	}
	return "", &Error{Rule: "region", Value: region, Fix: "want an AWS region such as us-east-1, eu-west-1, us-gov-west-1 or cn-north-1"}
}

// Partition checks that p is one of AWS's partitions.
func Partition(p string) error {
	for _, q := range partitions {
		if q.name == p {
			return nil
		}
	}
	return &Error{Rule: "partition", Value: p, Fix: "want aws, aws-us-gov, aws-cn, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f or aws-eusc"}
}
