package waves

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

// fleet is n accounts, IDs 100000000001.., in reverse order (as discovery may return them),
// half in Root/Canary, a tag on every third.
func fleet(n int) []targets.Account {
	var out []targets.Account
	for i := n; i >= 1; i-- {
		a := targets.Account{ID: fmt.Sprintf("1000000000%02d", i), OUPath: "Root/Workloads", Tags: map[string]string{}}
		if i%2 == 0 {
			a.OUPath = "Root/Canary/EU"
		}
		if i%3 == 0 {
			a.Tags["ring"] = "early"
		}
		out = append(out, a)
	}
	return out
}

func specs(t *testing.T, sels ...string) []Spec {
	t.Helper()
	var out []Spec
	for _, s := range sels {
		sel, err := ParseSelector(s)
		require.NoError(t, err)
		out = append(out, Spec{Select: sel})
	}
	return out
}

func waveIDs(ws []Wave) [][]string {
	var out [][]string
	for _, w := range ws {
		out = append(out, ids(w.Accounts))
	}
	return out
}

func TestSplit(t *testing.T) {
	id := func(i int) string { return fmt.Sprintf("1000000000%02d", i) }
	cases := []struct {
		name  string
		waves []string
		want  [][]string
		err   string
	}{
		{name: "count, share rounded up, rest; by account ID", waves: []string{"1", "20%", "rest"},
			want: [][]string{{id(1)}, {id(2), id(3)}, {id(4), id(5), id(6), id(7), id(8), id(9)}}},
		{name: "OU below the path, written without Root", waves: []string{"ou:Canary", "rest"},
			want: [][]string{{id(2), id(4), id(6), id(8)}, {id(1), id(3), id(5), id(7), id(9)}}},
		{name: "tag, then a list, then rest", waves: []string{"tag:ring=early", "accounts:" + id(1) + "," + id(2), "rest"},
			want: [][]string{{id(3), id(6), id(9)}, {id(1), id(2)}, {id(4), id(5), id(7), id(8)}}},
		{name: "a later wave takes only what is left", waves: []string{"accounts:" + id(2), "ou:Root/Canary"},
			err: "5 target accounts are in no wave"},
		{name: "accounts left over", waves: []string{"3"}, err: "6 target accounts are in no wave"},
		{name: "rest not last", waves: []string{"rest", "1"}, err: "wave 1: rest must be the last wave"},
		{name: "an empty wave", waves: []string{"ou:Root/Canary", "ou:Root/Canary/EU", "rest"}, err: `wave 2 \(ou:Root/Canary/EU\) selects no account`},
		{name: "an account not targeted", waves: []string{"accounts:999999999999", "rest"}, err: "account 999999999999 is not among the run's target accounts"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ws, err := Split(specs(t, tc.waves...), fleet(9))
			if tc.err != "" {
				require.Error(t, err)
				require.Regexp(t, tc.err, err.Error())
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, waveIDs(ws))
		})
	}
}

func TestParseSelectorRejects(t *testing.T) {
	for _, s := range []string{"", "0", "-1", "0%", "101%", "x%", "ou:ou-abcd-12345678", "ou:", "tag:ring", "accounts:12345", "accounts:", "region:eu", "ten"} {
		t.Run(s, func(t *testing.T) {
			_, err := ParseSelector(s)
			require.Error(t, err)
		})
	}
}

func TestLoadFile(t *testing.T) {
	defaults := Gates{Verify: true, Wait: time.Minute}
	cases := []struct {
		name, text string
		err        string
		check      func(t *testing.T, s []Spec)
	}{
		{name: "gates per wave over the defaults", text: "waves:\n  - {name: canary, select: \"accounts:100000000001\", wait: 10m, gate: \"check --role 'A B'\"}\n  - {select: \"10%\", maxFailures: \"1\", verify: false}\n  - {select: rest}\n",
			check: func(t *testing.T, s []Spec) {
				require.Len(t, s, 3)
				require.Equal(t, "canary", s[0].Name)
				require.Equal(t, 10*time.Minute, s[0].Gates.Wait)
				require.Equal(t, []string{"check", "--role", "A B"}, s[0].Gates.Command)
				require.True(t, s[0].Gates.Verify)
				require.False(t, s[1].Gates.Verify)
				require.Equal(t, 1, s[1].Gates.MaxFailures.Count)
				require.Equal(t, time.Minute, s[2].Gates.Wait)
			}},
		{name: "bad selector names line and field", text: "waves:\n  - select: \"1\"\n  - select: \"ou:ou-x\"\n", err: `waves.yaml:3: waves\[1\].select: wave "ou:ou-x"`},
		{name: "missing selector", text: "waves:\n  - select: \"1\"\n  - name: two\n", err: `waves.yaml:3: waves\[1\].select: missing`},
		{name: "bad wait", text: "waves:\n  - {select: rest, wait: soon}\n", err: `waves.yaml:2: waves\[0\].wait: "soon"`},
		{name: "unknown field", text: "waves:\n  - {select: rest, gates: x}\n", err: `waves.yaml:2: YAML: .*gates`},
		{name: "no waves", text: "waves: []\n", err: `waves.yaml:1: waves: no waves`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "waves.yaml")
			require.NoError(t, os.WriteFile(path, []byte(tc.text), 0o600))
			s, err := LoadFile(path, defaults)
			if tc.err != "" {
				require.Error(t, err)
				require.Regexp(t, `^`+regexpQuote(path)+`:\d`, err.Error())
				require.Regexp(t, tc.err, err.Error())
				return
			}
			require.NoError(t, err)
			tc.check(t, s)
		})
	}
}

func regexpQuote(s string) string {
	out := ""
	for _, r := range s {
		if r == '.' || r == '/' || r == '-' || r == '_' {
			out += `\` + string(r)
		} else {
			out += string(r)
		}
	}
	return out
}

// fakeSteps deploy by recording; a wave's accounts fail verify when listed in drifted.
type fakeSteps struct {
	ups       [][]string
	rollbacks [][]string
	drifted   map[string]bool
	failing   map[string]bool
}

func (f *fakeSteps) steps() Steps {
	return Steps{
		Up: func(_ context.Context, accts []targets.Account) (*rollout.Report, error) {
			f.ups = append(f.ups, ids(accts))
			var res []rollout.Result
			for _, a := range accts {
				r := rollout.Result{Account: a, Status: rollout.StatusSucceeded, Attempts: 1, Changes: map[string]int{"update": 1}}
				if f.failing[a.ID] {
					r.Status, r.Changes = rollout.StatusFailed, nil
				}
				res = append(res, r)
			}
			return rollout.Combine(rollout.OpUp, time.Now(), nil, res...), nil
		},
		Verify: func(_ context.Context, accts []targets.Account) (map[string]string, error) {
			out := map[string]string{}
			for _, a := range accts {
				if f.drifted[a.ID] {
					out[a.ID] = "role/X trust-differs"
				}
			}
			return out, nil
		},
		Rollback: func(_ context.Context, accts []targets.Account) (*rollout.Report, error) {
			f.rollbacks = append(f.rollbacks, ids(accts))
			return rollout.Combine(rollout.OpRollback, time.Now(), nil), nil
		},
	}
}

func TestRunHaltsAtTheFirstFailedGate(t *testing.T) {
	id := func(i int) string { return fmt.Sprintf("1000000000%02d", i) }
	script := filepath.Join(t.TempDir(), "gate.sh")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = \""+id(5)+"\" ] && { echo \"vendor cannot assume the role in $a\" >&2; exit 3; }; done; exit 0\n"), 0o700))
	cases := []struct {
		name      string
		gates     Gates
		on        OnGateFailure
		fake      fakeSteps
		wantUps   [][]string
		wantHalt  *HaltReason
		wantRB    [][]string
		wantGates []GateName
	}{
		{name: "all pass", gates: Gates{Verify: true, Command: []string{"true"}, Wait: time.Millisecond},
			wantUps: [][]string{{id(1), id(2)}, {id(3), id(4), id(5)}, {id(6), id(7), id(8), id(9)}}},
		{name: "command fails for one account of wave 2, rollback", gates: Gates{Verify: true, Command: []string{script}}, on: Rollback,
			fake:     fakeSteps{drifted: map[string]bool{}},
			wantUps:  [][]string{{id(1), id(2)}, {id(3), id(4), id(5)}},
			wantHalt: &HaltReason{Wave: 2, WaveName: "2", Gate: GateCommand}, wantRB: [][]string{{id(3), id(4), id(5)}},
			wantGates: []GateName{GateFailures, GateVerify, GateCommand}},
		{name: "verify finds a difference in wave 1, halt only", gates: Gates{Verify: true, Command: []string{script}}, on: Halt,
			fake:     fakeSteps{drifted: map[string]bool{id(2): true}},
			wantUps:  [][]string{{id(1), id(2)}},
			wantHalt: &HaltReason{Wave: 1, WaveName: "1", Gate: GateVerify}, wantGates: []GateName{GateFailures, GateVerify}},
		{name: "a failed account over the wave's tolerance", gates: Gates{}, on: Rollback,
			fake:     fakeSteps{failing: map[string]bool{id(4): true}},
			wantUps:  [][]string{{id(1), id(2)}, {id(3), id(4), id(5)}},
			wantHalt: &HaltReason{Wave: 2, WaveName: "2", Gate: GateFailures}, wantRB: [][]string{{id(3), id(4), id(5)}},
			wantGates: []GateName{GateFailures}},
		{name: "a failed account within the wave's tolerance", gates: Gates{MaxFailures: rollout.FailureTolerance{Count: 1}},
			fake:    fakeSteps{failing: map[string]bool{id(4): true}},
			wantUps: [][]string{{id(1), id(2)}, {id(3), id(4), id(5)}, {id(6), id(7), id(8), id(9)}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sp := specs(t, "2", "3", "rest")
			for i := range sp {
				sp[i].Gates = tc.gates
			}
			ws, err := Split(sp, fleet(9))
			require.NoError(t, err)
			f := tc.fake
			dir := t.TempDir()
			out, err := Run(context.Background(), ws, f.steps(), tc.on, dir)
			require.NoError(t, err)
			require.Equal(t, tc.wantUps, f.ups)
			require.Equal(t, tc.wantRB, f.rollbacks)
			require.FileExists(t, filepath.Join(dir, "waves.json"))
			require.FileExists(t, filepath.Join(dir, "report.json"))
			require.Len(t, out.Report.Results, 9, "every account of the run is in its report")
			if tc.wantHalt == nil {
				require.Nil(t, out.Halt)
				return
			}
			require.NotNil(t, out.Halt)
			require.Equal(t, tc.wantHalt.Wave, out.Halt.Wave)
			require.Equal(t, tc.wantHalt.Gate, out.Halt.Gate)
			halted := out.Waves[tc.wantHalt.Wave-1]
			var gates []GateName
			for _, g := range halted.Gates {
				gates = append(gates, g.Gate)
			}
			require.Equal(t, tc.wantGates, gates)
			if tc.wantHalt.Gate == GateCommand {
				require.Contains(t, out.Halt.Reason, "exited with code 3: vendor cannot assume the role in "+id(5))
			}
			// Later waves: not started, and said so with the wave and the gate.
			for _, w := range out.Waves[tc.wantHalt.Wave:] {
				require.Equal(t, WaveNotStarted, w.Status)
			}
			started := map[string]bool{}
			for _, up := range f.ups {
				for _, a := range up {
					started[a] = true
				}
			}
			for _, r := range out.Report.Results {
				if !started[r.Account.ID] {
					require.Equal(t, rollout.StatusNotStarted, r.Status)
					require.Contains(t, r.Error, fmt.Sprintf("wave %d failed its %s gate", tc.wantHalt.Wave, tc.wantHalt.Gate))
				}
			}
		})
	}
}
