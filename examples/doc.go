// Package examples holds the programs README.md shows for using byoc-access from other Pulumi
// projects (go/, typescript/, yaml/), and their tests: each is deployed for real through the
// Pulumi CLI, as is `pulumi up` of the repository's own main.go, and the README's code blocks
// are checked against the files.
package examples
