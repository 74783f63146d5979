package rollout

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Memory one account's operation can take: the AWS provider plugin alone takes 300-430 MB per
// process (pulumi-aws issue 5860), plus the CLI and engine.
const (
	perAccountWithPlugin = 600 << 20
	perAccountCLIOnly    = 150 << 20
)

// DefaultParallel fits the parallelism to this machine: the CLI processes mostly wait on AWS,
// so two per core, but never more than free memory holds.
func DefaultParallel(needsPlugin bool) int {
	p := 2 * runtime.NumCPU()
	per := int64(perAccountCLIOnly)
	if needsPlugin {
		per = perAccountWithPlugin
	}
	if avail := availableMemory(); avail > 0 {
		if byMem := int(avail / per); byMem < p {
			p = byMem
		}
	}
	if p < 1 {
		p = 1
	}
	if p > 32 {
		p = 32
	}
	return p
}

// availableMemory reads MemAvailable on Linux; 0 when unknown.
func availableMemory() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemAvailable:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// balancedWorkers is how many accounts to work on at once when n accounts need work and the
// user allows parallel: the fewest workers that still finish in the same number of rounds.
// Ten accounts at --parallel 8 take two rounds either way, but 5 workers start 5 providers
// (and 5 CLIs at a time) where 8 start 8, for nothing: on a machine whose cores are the
// limit, the 3 extra providers' start-up is time the accounts wait for.
func balancedWorkers(n, parallel int) int {
	if n < 1 || parallel < 1 {
		return 1
	}
	rounds := (n + parallel - 1) / parallel
	return (n + rounds - 1) / rounds
}

// preflightParallel is how many accounts' roles the preflight assumes at once: an STS call
// takes no memory to speak of, so it is not held to --parallel, which is sized for CLI and
// provider processes. 1,000 accounts at 4 at a time and 80 ms a call would wait 20 s.
func preflightParallel(parallel int) int { return max(parallel, 16) }
