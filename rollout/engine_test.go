package rollout

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/stretchr/testify/require"
)

// The event log lines below have the shape the v3.250.0 engine writes (trimmed); the end-to-end
// tests read real ones.
func TestReadEventLog(t *testing.T) {
	tests := []struct {
		name        string
		lines       string
		outputs     bool
		wantChanges map[string]int
		wantOutputs auto.OutputMap
		wantSteps   []Step
		wantErr     string
	}{
		{
			name: "update with outputs and a secret",
			lines: `{"sequence":0,"timestamp":1,"preludeEvent":{"config":{"byoc-access:token":"[secret]"}}}
{"sequence":1,"timestamp":1,"resOutputsEvent":{"metadata":{"op":"create","urn":"urn:pulumi:a::p::byoc-access:test:Stub::vendor","type":"byoc-access:test:Stub","new":{"type":"byoc-access:test:Stub","outputs":{"x":"y"}}}}}
{"sequence":2,"timestamp":1,"resOutputsEvent":{"metadata":{"op":"create","urn":"urn:pulumi:a::p::pulumi:pulumi:Stack::p-a","type":"pulumi:pulumi:Stack","new":{"type":"pulumi:pulumi:Stack","outputs":{"roleArns":{"R":"arn:aws:iam::1:role/R"},"token":{"4dabf18193072939515e22adb298388d":"1b47061264138c4ac30d75fd1eb44270","plaintext":"[secret]"},"masked":"[secret]"}}}}}
{"sequence":3,"timestamp":1,"summaryEvent":{"maybeCorrupt":false,"durationSeconds":1,"resourceChanges":{"create":2},"PolicyPacks":{}}}
`,
			outputs:     true,
			wantChanges: map[string]int{"create": 2},
			wantOutputs: auto.OutputMap{
				"roleArns": {Value: map[string]any{"R": "arn:aws:iam::1:role/R"}},
				"token":    {Secret: true},
				"masked":   {Secret: true},
			},
		},
		{
			name:        "preview keeps no outputs",
			lines:       `{"sequence":0,"timestamp":1,"summaryEvent":{"resourceChanges":{"same":2},"isPreview":true}}` + "\n",
			wantChanges: map[string]int{"same": 2},
		},
		{
			name: "a preview's steps keep the program's resources with their old and new inputs",
			lines: `{"sequence":0,"timestamp":1,"resourcePreEvent":{"metadata":{"op":"same","urn":"urn:pulumi:a::p::pulumi:pulumi:Stack::p-a","type":"pulumi:pulumi:Stack"},"planning":true}}
{"sequence":1,"timestamp":1,"resourcePreEvent":{"metadata":{"op":"same","urn":"urn:pulumi:a::p::pulumi:providers:aws::default","type":"pulumi:providers:aws"},"planning":true}}
{"sequence":2,"timestamp":1,"resourcePreEvent":{"metadata":{"op":"update","urn":"urn:pulumi:a::p::aws:iam/policy:Policy::P","type":"aws:iam/policy:Policy","old":{"inputs":{"name":"P","policy":"{}"}},"new":{"inputs":{"name":"P","policy":"{\"a\":1}"}}},"planning":true}}
{"sequence":3,"timestamp":1,"resourcePreEvent":{"metadata":{"op":"create","urn":"urn:pulumi:a::p::aws:iam/role:Role::R","type":"aws:iam/role:Role","new":{"inputs":{"name":"R"}}},"planning":true}}
{"sequence":4,"timestamp":1,"summaryEvent":{"resourceChanges":{"create":1,"update":1},"isPreview":true}}
`,
			wantChanges: map[string]int{"create": 1, "update": 1},
			wantSteps: []Step{
				{Op: "update", URN: "urn:pulumi:a::p::aws:iam/policy:Policy::P", Type: "aws:iam/policy:Policy",
					Old: map[string]any{"name": "P", "policy": "{}"}, New: map[string]any{"name": "P", "policy": `{"a":1}`}},
				{Op: "create", URN: "urn:pulumi:a::p::aws:iam/role:Role::R", Type: "aws:iam/role:Role", New: map[string]any{"name": "R"}},
			},
		},
		{
			name:        "an update with no stack outputs has an empty map",
			lines:       `{"sequence":0,"timestamp":1,"summaryEvent":{"resourceChanges":{"same":1}}}` + "\n",
			outputs:     true,
			wantChanges: map[string]int{"same": 1},
			wantOutputs: auto.OutputMap{},
		},
		{
			name:    "a log cut short has no summary",
			lines:   `{"sequence":0,"timestamp":1,"preludeEvent":{"config":{}}}` + "\n",
			wantErr: "no summary event",
		},
		{
			name:    "a corrupt line",
			lines:   "{not json\n",
			wantErr: "event log line 1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "events.jsonl")
			require.NoError(t, os.WriteFile(path, []byte(tt.lines), 0o600))
			res, err := readEventLog(path, tt.outputs)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantChanges, res.Changes)
			require.Equal(t, tt.wantOutputs, res.Outputs)
			require.Equal(t, tt.wantSteps, res.Steps)
		})
	}
}
