// Package conformance holds the tests that prove each vendor preset reproduces exactly what
// its vendor publishes: the Streamkap BYOC document, StreamNative's Terraform module data,
// Datadog's CloudFormation quickstart v4.3.1 and the Databricks Terraform provider v1.128.0's
// own test strings. They read the published material from the shared folder beside the
// repository (or BYOC_SHARED_DIR) and skip, saying so, where it is absent.
package presets
