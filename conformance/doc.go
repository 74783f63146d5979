// Package conformance holds the tests that prove each vendor preset reproduces exactly what
// its vendor publishes: the Streamkap BYOC document and StreamNative's Terraform module data.
// They read the published material from the shared folder beside the repository (or
// BYOC_SHARED_DIR) and skip, saying so, where it is absent.
package conformance
