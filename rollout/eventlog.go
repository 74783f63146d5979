// The engine's event log, read after a CLI run: each resource's steps, the failed resource, the stack's outputs.

package rollout

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// readEventLog takes the change summary and, for an update, the stack's outputs from an
// engine event log (one JSON event per line).
func readEventLog(path string, outputs bool) (*engineResult, error) {
	res := &engineResult{}
	err := scanEvents(path, func(e apitype.EngineEvent) {
		switch {
		case e.SummaryEvent != nil:
			res.Changes = map[string]int{}
			for k, v := range e.SummaryEvent.ResourceChanges {
				res.Changes[string(k)] = v
			}
		case outputs && e.ResOutputsEvent != nil && e.ResOutputsEvent.Metadata.Type == "pulumi:pulumi:Stack" &&
			e.ResOutputsEvent.Metadata.New != nil:
			res.Outputs = stackOutputs(e.ResOutputsEvent.Metadata.New.Outputs)
		case e.ResourcePreEvent != nil:
			if s, ok := stepOf(e.ResourcePreEvent.Metadata); ok {
				res.Steps = append(res.Steps, s)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	if res.Changes == nil {
		return nil, errors.New("no summary event")
	}
	if outputs && res.Outputs == nil {
		res.Outputs = auto.OutputMap{}
	}
	return res, nil
}

// scanEvents calls fn with each event of an engine event log (one JSON event per line).
func scanEvents(path string, fn func(apitype.EngineEvent)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	// Events carry whole resource states; IAM policies make them long.
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		var e apitype.EngineEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return fmt.Errorf("event log line %d: %w", line, err)
		}
		fn(e)
	}
	return sc.Err()
}

// failedResource reports whether an event is the engine's error about one resource: an
// error diagnostic with the resource's URN. The program's own failure is reported without a
// URN (or, by other runtimes, on the stack resource), so it is not one.
func failedResource(e apitype.EngineEvent) (urn, message string, ok bool) {
	d := e.DiagnosticEvent
	if d == nil || d.Severity != "error" || d.URN == "" || resource.URN(d.URN).Type() == resource.RootStackType {
		return "", "", false
	}
	return d.URN, d.Message, true
}

// resourceFailure finds the first failed resource in a failed operation's event log; "" when
// none failed (or the log cannot be read: the CLI may have stopped before writing it).
func resourceFailure(path string) (urn, message string) {
	_ = scanEvents(path, func(e apitype.EngineEvent) {
		if u, m, ok := failedResource(e); ok && urn == "" {
			urn, message = u, m
		}
	})
	return urn, message
}

// stackOutputs turns the stack resource's serialized outputs into an OutputMap. The event log
// never holds secret plaintext: a secret is kept as marked, with no value.
func stackOutputs(outs map[string]any) auto.OutputMap {
	m := auto.OutputMap{}
	for k, v := range outs {
		if obj, ok := v.(map[string]any); ok && obj[secretSig] != nil {
			m[k] = auto.OutputValue{Secret: true}
			continue
		}
		if s, ok := v.(string); ok && s == "[secret]" {
			m[k] = auto.OutputValue{Secret: true}
			continue
		}
		m[k] = auto.OutputValue{Value: v}
	}
	return m
}
