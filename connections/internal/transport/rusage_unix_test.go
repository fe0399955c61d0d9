//go:build unix

package transport

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time the process has used. Benchmarks report throughput per CPU
// second as well as per wall second, because the shared benchmark machine is often
// oversubscribed and wall time then measures the neighbours.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
