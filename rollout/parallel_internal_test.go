package rollout

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBalancedWorkers: as many rounds as --parallel allows, over as few workers as those
// rounds need, and never more than --parallel.
func TestBalancedWorkers(t *testing.T) {
	for _, tc := range []struct{ n, parallel, want int }{
		{n: 10, parallel: 8, want: 5},   // 2 rounds: 5 and 5, not 8 and 2
		{n: 50, parallel: 8, want: 8},   // 7 rounds need all 8
		{n: 9, parallel: 8, want: 5},    // 2 rounds
		{n: 8, parallel: 8, want: 8},    // 1 round
		{n: 3, parallel: 8, want: 3},    // fewer accounts than workers
		{n: 17, parallel: 8, want: 6},   // 3 rounds
		{n: 1000, parallel: 4, want: 4}, // 250 rounds
		{n: 1, parallel: 1, want: 1},
		{n: 0, parallel: 8, want: 1}, // nothing to do: one slot, never zero
	} {
		t.Run(fmt.Sprintf("%d accounts at %d", tc.n, tc.parallel), func(t *testing.T) {
			got := balancedWorkers(tc.n, tc.parallel)
			require.Equal(t, tc.want, got)
			require.LessOrEqual(t, got, max(tc.parallel, 1))
			rounds := (tc.n + tc.parallel - 1) / tc.parallel
			require.Equal(t, rounds, (tc.n+got-1)/got, "the same number of rounds as --parallel gives")
		})
	}
}
