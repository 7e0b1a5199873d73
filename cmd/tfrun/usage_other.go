//go:build !unix

package main

// usage is what the process has used so far.
type usage struct{ cpuMS, faults float64 }

// processUsage is zero: only Unix systems report it here.
func processUsage() usage { return usage{} }
