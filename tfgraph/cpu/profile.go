package cpu

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// ProfileEnv names the environment variable that, when set to 1 at backend
// creation, makes the backend time every step and print a table of where
// the time went to stderr when it is finalized.
const ProfileEnv = "TFRUN_CPU_PROFILE"

type profile struct {
	mu      sync.Mutex
	entries map[string]*profEntry
}

type profEntry struct {
	calls  int
	total  time.Duration
	faults int64 // minor page faults of the process while the step ran
}

func newProfile() *profile {
	if os.Getenv(ProfileEnv) != "1" {
		return nil
	}
	return &profile{entries: make(map[string]*profEntry)}
}

func (p *profile) add(name string, d time.Duration, faults int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.entries[name]
	if e == nil {
		e = &profEntry{}
		p.entries[name] = e
	}
	e.calls++
	e.total += d
	e.faults += faults
}

// String lists the steps by total time, longest first.
func (p *profile) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	names := make([]string, 0, len(p.entries))
	var total time.Duration
	for name, e := range p.entries {
		names = append(names, name)
		total += e.total
	}
	slices.SortFunc(names, func(a, b string) int { return int(p.entries[b].total - p.entries[a].total) })
	var sb strings.Builder
	fmt.Fprintf(&sb, "%10s %8s %9s %6s  %s\n", "total ms", "calls", "faults", "share", "step")
	for _, name := range names {
		e := p.entries[name]
		fmt.Fprintf(&sb, "%10.1f %8d %9d %5.1f%%  %s\n", float64(e.total.Microseconds())/1000, e.calls, e.faults,
			100*float64(e.total)/float64(max(total, 1)), name)
	}
	return sb.String()
}
