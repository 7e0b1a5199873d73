//go:build unix

package main

import "syscall"

// usage is what the process has used so far.
type usage struct{ cpuMS, faults float64 }

// processUsage reads the process's user and system CPU time and its minor
// page faults; zero where the system will not say.
func processUsage() usage {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return usage{}
	}
	return usage{cpuMS: float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e6, faults: float64(ru.Minflt)}
}
