// Package backend is the Pulumi state backend as the rollout reads it directly, without starting
// a CLI process: where each account's stack keeps its state in the chain spec → grant →
// component → stack → account. Parse takes a --backend URL apart into a Location (file://,
// s3://, Pulumi Cloud...), FileDir is a file backend's directory (for crash recovery), Open
// gives a Store of the objects of a DIY backend (file:// or s3://) for what the rollout keeps
// beside the state (fingerprints), and DetectLayout and Layout find the stacks in whichever
// layout the CLI wrote. Stack locks are in rollout/backend/locks.
package backend
