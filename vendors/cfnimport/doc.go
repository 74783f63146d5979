// Package cfnimport makes a vendor spec, the first link of the chain spec → grant → component →
// stack → account, from a CloudFormation template: the form most vendors publish their access
// in. Import reads the template (YAML or JSON, short forms such as !Ref included) and converts
// its IAM managed policies, roles, trust policies, inline policies, parameters and simple
// Conditions, translating !Ref, !Sub, !Join, !If and !FindInMap into spec templates and locals;
// Marshal writes the spec as YAML that vendors.Load accepts. Whatever it cannot translate comes
// back as an Issue, never dropped in silence. `rollout vendors import` is its command.
package cfnimport
