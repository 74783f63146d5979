package main

import (
	"context"
	"os/exec"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/byoc-access/byoc-access/rollout/params"
	"github.com/byoc-access/byoc-access/vendors"
)

// paramSourceFlags choose where each account's own parameter values come from (see package
// rollout/params for the precedence).
type paramSourceFlags struct {
	File           string
	FromTag        []string
	FromCommand    []string
	CommandTimeout time.Duration
	Secret         []string
}

func (f *paramSourceFlags) register(c *cobra.Command) {
	fl := c.Flags()
	fl.StringVar(&f.File, "params-file", "", "per-account parameter values: YAML/JSON {\"111122223333\": {external_id: ...}} or CSV id,external_id,...")
	fl.StringArrayVar(&f.FromTag, "param-from-tag", nil, "take parameter NAME from each account's Organizations tag TAGKEY: NAME=TAGKEY (repeatable)")
	fl.StringArrayVar(&f.FromCommand, "param-from-command", nil, "take parameter NAME from a command's stdout, run once per account with the account ID as last argument, no shell: NAME=CMD (repeatable)")
	fl.DurationVar(&f.CommandTimeout, "param-command-timeout", params.DefaultCommandTimeout, "time limit of one --param-from-command run")
	fl.StringArrayVar(&f.Secret, "secret-param", nil, "treat parameter NAME as a secret: stored encrypted in stack config, masked in render and plan output (repeatable)")
}

// set reports whether any per-account source or secret was asked for.
func (f *paramSourceFlags) set() bool {
	return f != nil && (f.File != "" || len(f.FromTag) > 0 || len(f.FromCommand) > 0 || len(f.Secret) > 0)
}

// sources parses the flags and checks them against the spec: every problem is a usage error.
func (f *paramSourceFlags) sources(ctx context.Context, spec *vendors.VendorSpec) (params.Sources, map[string]bool, error) {
	s := params.Sources{Tags: map[string]string{}, Commands: map[string]params.Command{}}
	secret := map[string]bool{}
	if f == nil {
		return s, secret, nil
	}
	if f.CommandTimeout <= 0 {
		return s, nil, usagef("--param-command-timeout %s: want a positive duration such as 30s", f.CommandTimeout)
	}
	s.Timeout = f.CommandTimeout
	for _, kv := range f.FromTag {
		name, key, err := params.ParseTag(kv)
		if err != nil {
			return s, nil, asUsage(err)
		}
		if _, dup := s.Tags[name]; dup {
			return s, nil, usagef("--param-from-tag %s is given twice", name)
		}
		s.Tags[name] = key
	}
	for _, kv := range f.FromCommand {
		c, err := params.ParseCommand(kv)
		if err != nil {
			return s, nil, asUsage(err)
		}
		if _, dup := s.Commands[c.Param]; dup {
			return s, nil, usagef("--param-from-command %s is given twice", c.Param)
		}
		// Once here, not once per account: a missing program would fail every account.
		if _, err := exec.LookPath(c.Argv[0]); err != nil {
			return s, nil, usagef("--param-from-command %s: %v", c.Param, err)
		}
		s.Commands[c.Param] = c
	}
	if f.File != "" {
		file, err := params.LoadFileContext(ctx, f.File)
		if err != nil {
			return s, nil, asUsage(err)
		}
		s.File = file
	}
	if err := s.Check(spec); err != nil {
		return s, nil, asUsage(err)
	}
	for _, p := range spec.Parameters {
		if p.Secret {
			secret[p.Name] = true
		}
	}
	for _, name := range f.Secret {
		name = strings.TrimSpace(name)
		if _, ok := spec.Param(name); !ok {
			return s, nil, usagef("--secret-param %s: vendor %s has no such parameter (rollout vendors show %s lists them)", name, spec.Name, spec.Name)
		}
		secret[name] = true
	}
	s.Secret = secret
	return s, secret, nil
}
