package render

import (
	"fmt"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Resource is one resource registration seen by the Mocks.
type Resource struct {
	Type   string
	Name   string
	Inputs map[string]any
	// ImportID is set when the resource was registered with pulumi.Import.
	ImportID string
	Custom   bool
}

// Call is one provider function call (invoke) seen by the Mocks.
type Call struct {
	Token string
	Args  map[string]any
}

// Mocks answers the Pulumi engine's resource and invoke requests the way AWS IAM would, and
// records every request so render and tests can read the full set of resources.
type Mocks struct {
	AccountID string
	Partition string
	Region    string
	// KMSKeyARN answers kms.LookupKey; by default a placeholder that names the alias.
	KMSKeyARN func(keyID string) string
	// CallError, when set, makes every invoke of that token fail, to test error paths.
	CallError map[string]error

	mu        sync.Mutex
	resources []Resource
	calls     []Call
}

var _ pulumi.MockResourceMonitor = (*Mocks)(nil)

// NewMocks returns mocks for one account.
func NewMocks(accountID, partition, region string) *Mocks {
	if partition == "" {
		partition = "aws"
	}
	if region == "" {
		region = "us-east-1"
	}
	return &Mocks{AccountID: accountID, Partition: partition, Region: region}
}

// Resources returns what was registered, in registration order.
func (m *Mocks) Resources() []Resource {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Resource(nil), m.resources...)
}

// Calls returns the invokes made, in order.
func (m *Mocks) Calls() []Call {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Call(nil), m.calls...)
}

// ByType returns the registered resources of one type token.
func (m *Mocks) ByType(token string) []Resource {
	var out []Resource
	for _, r := range m.Resources() {
		if r.Type == token {
			out = append(out, r)
		}
	}
	return out
}

// Placeholder KMS ARNs make an unresolved lookup visible in render output instead of
// inventing a key ID.
func (m *Mocks) kmsKeyARN(keyID string) string {
	if m.KMSKeyARN != nil {
		return m.KMSKeyARN(keyID)
	}
	return fmt.Sprintf("arn:%s:kms:%s:%s:key/LOOKUP(%s)", m.Partition, m.Region, m.AccountID, keyID)
}

// Call answers invokes: caller identity, partition and KMS key lookups.
func (m *Mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	m.mu.Lock()
	m.calls = append(m.calls, Call{Token: args.Token, Args: args.Args.Mappable()})
	err := m.CallError[args.Token]
	m.mu.Unlock()
	if err != nil {
		return nil, err
	}
	switch args.Token {
	case "aws:index/getCallerIdentity:getCallerIdentity":
		return resource.NewPropertyMapFromMap(map[string]any{
			"accountId": m.AccountID,
			"arn":       fmt.Sprintf("arn:%s:sts::%s:assumed-role/render/byoc-access", m.Partition, m.AccountID),
			"userId":    "AROARENDER:byoc-access",
			"id":        m.AccountID,
		}), nil
	case "aws:index/getPartition:getPartition":
		return resource.NewPropertyMapFromMap(map[string]any{
			"partition": m.Partition,
			"dnsSuffix": "amazonaws.com",
			"id":        m.Partition,
		}), nil
	case "aws:kms/getKey:getKey":
		keyID, _ := args.Args.Mappable()["keyId"].(string)
		return resource.NewPropertyMapFromMap(map[string]any{"arn": m.kmsKeyARN(keyID), "keyId": keyID, "id": keyID}), nil
	}
	return nil, fmt.Errorf("render mocks: no answer for invoke %s", args.Token)
}

// NewResource answers registrations with the IDs and ARNs IAM would assign.
func (m *Mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	inputs := args.Inputs.Mappable()
	m.mu.Lock()
	m.resources = append(m.resources, Resource{Type: args.TypeToken, Name: args.Name, Inputs: inputs, ImportID: args.ID, Custom: args.Custom})
	m.mu.Unlock()

	outputs := map[string]any{}
	for k, v := range inputs {
		outputs[k] = v
	}
	str := func(k string) string { s, _ := inputs[k].(string); return s }
	path := str("path")
	if path == "" {
		path = "/"
	}
	var id string
	switch args.TypeToken {
	case "aws:iam/policy:Policy":
		arn := fmt.Sprintf("arn:%s:iam::%s:policy%s%s", m.Partition, m.AccountID, path, str("name"))
		outputs["arn"], outputs["path"] = arn, path
		id = arn
	case "aws:iam/role:Role":
		outputs["arn"] = fmt.Sprintf("arn:%s:iam::%s:role%s%s", m.Partition, m.AccountID, path, str("name"))
		outputs["path"] = path
		id = str("name")
	case "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
		id = str("role") + "-" + str("policyArn")
	case "aws:iam/rolePolicy:RolePolicy":
		id = str("role") + ":" + str("name")
	default:
		id = args.Name + "_id"
		if strings.HasPrefix(args.TypeToken, "aws:") {
			return "", nil, fmt.Errorf("render mocks: unexpected AWS resource type %s", args.TypeToken)
		}
	}
	return id, resource.NewPropertyMapFromMap(outputs), nil
}
