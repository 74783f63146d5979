package main

import (
	"errors"
	"time"

	"github.com/spf13/cobra"

	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/params"
	"github.com/byoc-access/byoc-access/rollout/waves"
)

// waveFlags are up's flags for a rollout in waves with gates between them.
type waveFlags struct {
	Waves         []string
	File          string
	Wait          time.Duration
	MaxFailures   string
	Verify        bool
	Gate          string
	GateTimeout   time.Duration
	OnGateFailure string

	// set says which flags the command line gave.
	set func(name string) bool
}

func (f *waveFlags) register(c *cobra.Command) {
	fl := c.Flags()
	f.set = fl.Changed
	fl.StringArrayVar(&f.Waves, "wave", nil, "deploy in waves, in order, each finished and its gates passed before the next: N, P%, ou:PATH, tag:KEY=VALUE, accounts:ID,ID, or rest (repeatable)")
	fl.StringVar(&f.File, "waves-file", "", "the waves, with their own gates, from a YAML file (instead of --wave)")
	fl.DurationVar(&f.Wait, "wave-wait", 0, "bake time after each wave before its command gate and the next wave")
	fl.StringVar(&f.MaxFailures, "wave-max-failures", "0", "failed accounts (N or P%) a wave tolerates before its failures gate halts the run")
	fl.BoolVar(&f.Verify, "wave-verify", true, "after each wave, verify its accounts' live IAM against the spec; a difference halts the run")
	fl.StringVar(&f.Gate, "wave-gate", "", "command run after each wave with the wave's account IDs as its last arguments; a non-zero exit halts the run")
	fl.DurationVar(&f.GateTimeout, "wave-gate-timeout", waves.DefaultCommandTimeout, "bound on each run of --wave-gate")
	fl.StringVar(&f.OnGateFailure, "on-gate-failure", string(waves.Halt), "when a gate fails: halt, or rollback (return the wave's accounts to what each had before the run)")
}

// given says whether the run goes in waves.
func (f *waveFlags) given() bool { return len(f.Waves) > 0 || f.File != "" }

// specs checks the flags and returns the waves as given: every problem is a usage error,
// found before anything is deployed.
func (f *waveFlags) specs() ([]waves.Spec, waves.OnGateFailure, error) {
	if f.set == nil {
		// A command without the wave flags (plan, drift).
		return nil, waves.Halt, nil
	}
	on := waves.OnGateFailure(f.OnGateFailure)
	if on != waves.Halt && on != waves.Rollback {
		return nil, "", usagef("--on-gate-failure %q: use halt or rollback", f.OnGateFailure)
	}
	if !f.given() {
		for _, name := range []string{"wave-wait", "wave-gate", "on-gate-failure"} {
			if f.set(name) {
				return nil, "", usagef("--%s applies to a rollout in waves: give --wave or --waves-file", name)
			}
		}
		return nil, on, nil
	}
	if len(f.Waves) > 0 && f.File != "" {
		return nil, "", usagef("--wave and --waves-file are both set: choose one")
	}
	if f.Wait < 0 {
		return nil, "", usagef("--wave-wait %s: want 0 or more", f.Wait)
	}
	if f.GateTimeout <= 0 {
		return nil, "", usagef("--wave-gate-timeout %s: want more than 0", f.GateTimeout)
	}
	tol, err := rollout.ParseFailureTolerance(f.MaxFailures)
	if err != nil || f.MaxFailures == "" {
		return nil, "", usagef("--wave-max-failures %q: want a count such as 0 or a percentage such as 10%%", f.MaxFailures)
	}
	gates := waves.Gates{MaxFailures: tol, Verify: f.Verify, Wait: f.Wait, CommandTimeout: f.GateTimeout}
	if f.Gate != "" {
		argv, err := params.SplitWords(f.Gate)
		if err != nil || len(argv) == 0 {
			return nil, "", usagef("--wave-gate %q: want a command, such as 'scripts/check-vendor-access --role NAME'", f.Gate)
		}
		gates.Command = argv
	}
	if f.File != "" {
		specs, err := waves.LoadFile(f.File, gates)
		var fe *waves.FileError
		if errors.As(err, &fe) {
			return nil, "", asUsage(err)
		}
		return specs, on, err
	}
	var specs []waves.Spec
	for _, w := range f.Waves {
		sel, err := waves.ParseSelector(w)
		if err != nil {
			return nil, "", usagef("--wave: %v", err)
		}
		specs = append(specs, waves.Spec{Select: sel, Gates: gates})
	}
	return specs, on, nil
}
