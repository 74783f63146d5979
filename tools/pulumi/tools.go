//go:build tools

// Package tools pins the Pulumi CLI that byoc-access builds from source when no
// suitable pulumi is on PATH. It lives in its own module so that the CLI's large
// dependency graph never enters the project's go.mod.
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
