// Package presets is the folder of the embedded vendor presets and their conformance tests. Each
// YAML file here (databricks, databricks-unity-catalog, datadog, streamkap, streamnative) is a
// vendor spec that package vendors embeds and serves through vendors.Preset: the first link of
// the chain spec → grant → component → stack → account for the vendors byoc-access ships. The
// tests prove each preset grants exactly what its vendor publishes (Streamkap's BYOC policy
// documents, StreamNative's Terraform module v3.25.0, Datadog's CloudFormation quickstart
// v4.3.1, the Databricks Terraform provider v1.128.0's own test strings) by rendering the preset
// as the component would create it and comparing it, statement for statement, with that
// material, read from ../shared beside the repository or from BYOC_SHARED_DIR; where it is
// absent they skip and say so. There is no Go code here: a preset changes by editing its YAML,
// and its test says whether it still matches the vendor.
package presets
