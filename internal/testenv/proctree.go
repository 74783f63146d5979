package testenv

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ProcTreeEnv is the variable that marks the processes of one measured run. A child started
// with ProcTree.Env() passes it to its own children through their inherited environment, so
// every process of the run carries it, including those reparented to init after their parent
// exited (which a walk of descendants would lose).
const ProcTreeEnv = "BYOC_PROCTREE_MARKER"

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat: 100 on every Linux
// architecture Go supports (the kernel fixes it for the ABI; sysconf is not in the stdlib).
const clockTicks = 100

// ProcUsage is what the processes of one executable name used during a measurement.
type ProcUsage struct {
	// Name is the executable's base name, version suffixes removed
	// (terraform-provider-aws_v5.100.0_x5 is terraform-provider-aws); for the pulumi and
	// terraform CLIs, followed by the subcommand ("pulumi stack init", "terraform apply").
	Name string
	// Processes is how many processes of that name were seen.
	Processes int
	// CPU is user+system time at each process's last sighting, summed: up to one sampling
	// interval of each process's CPU before it exits is not seen.
	CPU time.Duration
	// Wall is each process's lifetime as sampled (last sighting minus first), summed.
	Wall time.Duration
	// PeakRSS is the largest resident memory of all these processes together in one sample.
	PeakRSS int64
	// FirstSeen is when the first of them was seen, from the start of the measurement: the
	// setup before the first process of a kind starts shows here.
	FirstSeen time.Duration
}

// Memory is the resident memory of a set of processes in one sample.
type Memory struct {
	// RSS sums the processes' resident set sizes: pages shared between processes, such as
	// the text of an executable several of them run, are counted once per process.
	RSS int64
	// Private sums their anonymous and shared-memory pages and adds the file-backed pages
	// (executables, libraries) once per executable: an estimate of what the tree really
	// takes from the machine.
	Private int64
}

// TreeUsage is the result of a ProcTree measurement.
type TreeUsage struct {
	// ByName is the usage per executable name, largest CPU first.
	ByName []ProcUsage
	// PeakRSS is the largest resident memory of the whole tree in one sample, in bytes
	// (Memory.RSS); Peak is the sample where the estimate of what it took (Memory.Private)
	// was largest.
	PeakRSS int64
	Peak    Memory
	// Samples is how many times /proc was read; Wall how long the measurement ran.
	Samples int
	Wall    time.Duration
}

// CPU is the CPU time of every process seen.
func (u TreeUsage) CPU() time.Duration {
	var total time.Duration
	for _, p := range u.ByName {
		total += p.CPU
	}
	return total
}

// Get returns the usage of one name (zero when no such process was seen).
func (u TreeUsage) Get(name string) ProcUsage {
	for _, p := range u.ByName {
		if p.Name == name {
			return p
		}
	}
	return ProcUsage{Name: name}
}

type procKey struct {
	pid   int
	start uint64 // starttime in ticks since boot: tells a reused PID apart
}

type procSeen struct {
	name, exe   string
	cpuTicks    uint64
	first, last time.Time
}

// ProcTree samples /proc every interval for the processes of one measured run: those that
// carry its marker in their environment, plus the measuring process itself when asked. It
// records CPU and lifetime per process and the peak of the summed resident memory. It reads
// /proc only, so it measures nothing outside Linux.
type ProcTree struct {
	marker   []byte
	value    string
	interval time.Duration
	self     bool

	mu       sync.Mutex
	procs    map[procKey]*procSeen
	notOurs  map[procKey]string
	peakRSS  int64
	peak     Memory
	peakBy   map[string]int64
	samples  int
	started  time.Time
	selfCPU0 uint64

	stop chan struct{}
	done chan struct{}
}

// StartProcTree starts sampling every interval (100 ms when 0). With includeSelf the
// measuring process counts as part of the tree (for work it does in-process, such as the
// naive Automation API loop): its CPU from now on and its memory.
func StartProcTree(interval time.Duration, includeSelf bool) *ProcTree {
	if interval <= 0 {
		interval = 100 * time.Millisecond
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	value := hex.EncodeToString(b)
	t := &ProcTree{
		marker:   []byte(ProcTreeEnv + "=" + value + "\x00"),
		value:    value,
		interval: interval,
		self:     includeSelf,
		procs:    map[procKey]*procSeen{},
		notOurs:  map[procKey]string{},
		peakBy:   map[string]int64{},
		started:  time.Now(),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	if includeSelf {
		if st, err := readStat(os.Getpid()); err == nil {
			t.selfCPU0 = st.utime + st.stime
		}
	}
	t.sample()
	go t.loop()
	return t
}

// Env is the NAME=VALUE entry to add to the environment of the children to measure.
func (t *ProcTree) Env() string { return ProcTreeEnv + "=" + t.value }

// Value is the marker's value, for setting it in the measuring process's own environment
// when its children are started by a library that passes that environment on.
func (t *ProcTree) Value() string { return t.value }

func (t *ProcTree) loop() {
	defer close(t.done)
	tick := time.NewTicker(t.interval)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
			t.sample()
		}
	}
}

// Stop ends sampling (after one last sample) and returns the usage.
func (t *ProcTree) Stop() TreeUsage {
	close(t.stop)
	<-t.done
	t.sample()
	t.mu.Lock()
	defer t.mu.Unlock()
	by := map[string]*ProcUsage{}
	for _, p := range t.procs {
		u := by[p.name]
		if u == nil {
			u = &ProcUsage{Name: p.name, PeakRSS: t.peakBy[p.name], FirstSeen: p.first.Sub(t.started)}
			by[p.name] = u
		}
		u.FirstSeen = min(u.FirstSeen, p.first.Sub(t.started))
		u.Processes++
		u.CPU += ticksToDuration(p.cpuTicks)
		u.Wall += p.last.Sub(p.first)
	}
	out := TreeUsage{PeakRSS: t.peakRSS, Peak: t.peak, Samples: t.samples, Wall: time.Since(t.started)}
	for _, u := range by {
		out.ByName = append(out.ByName, *u)
	}
	sort.Slice(out.ByName, func(i, j int) bool {
		if out.ByName[i].CPU != out.ByName[j].CPU {
			return out.ByName[i].CPU > out.ByName[j].CPU
		}
		return out.ByName[i].Name < out.ByName[j].Name
	})
	return out
}

func ticksToDuration(ticks uint64) time.Duration {
	return time.Duration(ticks) * time.Second / clockTicks
}

// sample reads /proc once: every process not yet known is checked for the marker, every one
// of ours has its CPU, RSS and name read. A process found without the marker is not read
// again until it execs (its command name changes): the environment it was started with never
// changes, but a child caught between fork and exec still shows its parent's.
func (t *ProcTree) sample() {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	now := time.Now()
	self := os.Getpid()
	page := int64(os.Getpagesize())
	t.mu.Lock()
	defer t.mu.Unlock()
	t.samples++
	var total Memory
	byName := map[string]int64{}
	fileByExe := map[string]int64{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := readStat(pid)
		if err != nil {
			continue // exited between the listing and the read
		}
		key := procKey{pid: pid, start: st.starttime}
		p := t.procs[key]
		if p == nil {
			if comm, seen := t.notOurs[key]; seen && comm == st.comm {
				continue
			}
			if (pid == self && !t.self) || (pid != self && !t.carriesMarker(pid)) {
				t.notOurs[key] = st.comm
				continue
			}
			p = &procSeen{first: now}
			t.procs[key] = p
		}
		if st.state == 'Z' {
			continue // exited, not yet reaped: its last numbers stand
		}
		cpu := st.utime + st.stime
		if pid == self {
			cpu -= min(cpu, t.selfCPU0)
		}
		p.cpuTicks, p.last = cpu, now
		// A process is named once per executable: it can exec another, and a name read as it
		// exits would be its truncated command name.
		if exe, ok := exePath(pid, pid == self); ok && exe != p.exe {
			p.exe, p.name = exe, label(pid, exe)
		} else if p.name == "" {
			p.name = st.comm
		}
		mem := readMemory(pid)
		if mem.rss == 0 {
			mem.rss = st.rss * page
		}
		total.RSS += mem.rss
		total.Private += mem.anon
		if mem.file > fileByExe[p.exe] {
			fileByExe[p.exe] = mem.file
		}
		byName[p.name] += mem.rss
	}
	for _, f := range fileByExe {
		total.Private += f
	}
	t.peakRSS = max(t.peakRSS, total.RSS)
	if total.Private > t.peak.Private {
		t.peak = total
	}
	for name, rss := range byName {
		t.peakBy[name] = max(t.peakBy[name], rss)
	}
}

type memory struct{ rss, anon, file int64 }

// readMemory reads VmRSS, RssAnon+RssShmem and RssFile from /proc/PID/status (zero when
// the process is gone).
func readMemory(pid int) memory {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return memory{}
	}
	var m memory
	for _, line := range strings.Split(string(b), "\n") {
		key, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		kb, _ := strconv.ParseInt(f[0], 10, 64)
		switch key {
		case "VmRSS":
			m.rss = kb << 10
		case "RssAnon", "RssShmem":
			m.anon += kb << 10
		case "RssFile":
			m.file = kb << 10
		}
	}
	return m
}

func (t *ProcTree) carriesMarker(pid int) bool {
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	return bytes.HasPrefix(env, t.marker) || bytes.Contains(env, append([]byte{0}, t.marker...))
}

var subcommandWord = regexp.MustCompile(`^[a-z]+(-[a-z]+)*$`)

var versionSuffix = regexp.MustCompile(`_v[0-9][0-9A-Za-z.\-+]*(_x[0-9]+)?$`)

// exePath is the process's executable ("(this process)" for the measuring one).
func exePath(pid int, self bool) (string, bool) {
	if self {
		return "(this process)", true
	}
	exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil {
		return "", false
	}
	return strings.TrimSuffix(exe, " (deleted)"), true
}

// label is the executable's base name without a Terraform provider's version suffix; the
// pulumi and terraform CLIs get their subcommand added (the words before the first flag), so
// that the cost of each kind of CLI process shows.
func label(pid int, exe string) string {
	name := versionSuffix.ReplaceAllString(filepath.Base(exe), "")
	if name != "pulumi" && name != "terraform" {
		return name
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return name
	}
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	// Leading flags are skipped (the Automation API puts --non-interactive first); the
	// subcommand is the lower-case words that follow, up to the first flag or argument (a
	// stack name, a path).
	words := args[1:]
	for len(words) > 0 && strings.HasPrefix(words[0], "-") {
		words = words[1:]
	}
	for _, a := range words {
		if !subcommandWord.MatchString(a) {
			break
		}
		name += " " + a
	}
	return name
}

// ProcessCPU is the user and system CPU time pid has used so far: for a process outside any
// measured tree, such as moto_server, read before and after an operation.
func ProcessCPU(pid int) (time.Duration, error) {
	st, err := readStat(pid)
	if err != nil {
		return 0, err
	}
	return time.Duration(st.utime+st.stime) * time.Second / clockTicks, nil
}

type procStat struct {
	comm         string
	state        byte
	utime, stime uint64
	starttime    uint64
	rss          int64
}

// readStat parses /proc/PID/stat. The command name is in parentheses and may itself hold
// spaces and parentheses, so the fields are counted from the last ')'.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	open, closing := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || closing < open {
		return procStat{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(b[closing+1:]))
	// f[0] is field 3 (state); utime is field 14, stime 15, starttime 22, rss 24.
	if len(f) < 22 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	num := func(i int) uint64 { n, _ := strconv.ParseUint(f[i-3], 10, 64); return n }
	rss, _ := strconv.ParseInt(f[24-3], 10, 64)
	return procStat{
		comm: string(b[open+1 : closing]), state: f[0][0],
		utime: num(14), stime: num(15), starttime: num(22), rss: rss,
	}, nil
}
