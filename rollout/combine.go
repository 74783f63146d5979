package rollout

import "time"

// OpRollback is a rollback's operation in its report: accounts returned to what they had
// before a run (package waves).
const OpRollback Operation = "rollback"

// Combine makes one report of several runs' reports (the waves of a run, the parts of a
// rollback) and of extra results for accounts none of them covered (not started, or failed
// before any run): results and counts over all of them, the start of the first and the
// failure tolerance and backend of the first.
func Combine(op Operation, started time.Time, reports []*Report, extra ...Result) *Report {
	out := &Report{Operation: op, StartedAt: started}
	for _, r := range reports {
		if r == nil {
			continue
		}
		if out.Backend == "" {
			out.Backend, out.MaxFailures = r.Backend, r.MaxFailures
		}
		out.Interrupted = out.Interrupted || r.Interrupted
		out.Results = append(out.Results, r.Results...)
	}
	out.Results = append(out.Results, extra...)
	if out.Results == nil {
		out.Results = []Result{}
	}
	out.Duration = time.Since(started)
	out.count()
	return out
}
