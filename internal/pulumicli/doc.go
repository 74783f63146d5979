// Package pulumicli finds the Pulumi CLI that the Automation API drives to run each stack, and
// says whether the AWS provider plugin real deployments need is installed. Find looks once per
// process (PULUMI_CLI, then PATH, then the copy scripts/install-pulumi.sh caches) for a CLI of
// Version, At uses a given binary, EngineSupported says whether the rollout's single-process
// engine may drive a CLI version, and AWSPluginInstalled and MissingAWSPlugin say what to install
// when the plugin is missing. The rollout (package rollout) and the tests use it.
package pulumicli
