package iamstate

import (
	"maps"
	"slices"
)

// Difference returns what is in a and not in b, and what is in b and not in a, each sorted and
// without repeats: the added and removed items of a list in a policy, a trust or an account.
func Difference(a, b []string) (onlyA, onlyB []string) {
	inA, inB := map[string]bool{}, map[string]bool{}
	for _, x := range a {
		inA[x] = true
	}
	for _, x := range b {
		inB[x] = true
	}
	for _, x := range slices.Sorted(maps.Keys(inA)) {
		if !inB[x] {
			onlyA = append(onlyA, x)
		}
	}
	for _, x := range slices.Sorted(maps.Keys(inB)) {
		if !inA[x] {
			onlyB = append(onlyB, x)
		}
	}
	return onlyA, onlyB
}
