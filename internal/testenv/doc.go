// Package testenv is the test equipment that lets tests run the whole chain spec → grant →
// component → stack → account for real, on one machine: StartMoto starts the AWS API emulator
// (moto) so every AWS call the project makes goes through the real SDK clients, SeedOrganization
// and AddAccounts give it an organization of member accounts, StartFaultProxy injects throttling
// and errors in front of it, UseAWSProvider picks the AWS provider plugin that deploys (the real
// one, or the test provider), NewTerraform runs a vendor's Terraform module for comparison,
// StartProcTree measures the processes a run starts, SharedFile finds the vendors' published
// material, and Missing skips a test whose prerequisite is absent (or fails it in CI).
package testenv
