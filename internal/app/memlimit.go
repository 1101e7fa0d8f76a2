package app

import (
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// MemoryLimitEnv names the environment variable holding the container's
// memory limit in bytes (the Helm chart sets it from the downward API).
const MemoryLimitEnv = "CREDSERVER_MEMORY_LIMIT"

// memoryLimitShare is the part of the container's limit the Go heap may
// use: the rest is the runtime, stacks and what the kernel counts besides.
const memoryLimitShare = 0.9

// SetMemoryLimit sets the Go runtime's soft memory limit to 90% of the
// container limit in CREDSERVER_MEMORY_LIMIT, unless GOMEMLIMIT is set
// (the runtime already honours it) or no limit is given. It returns the
// limit it set, 0 for none.
func SetMemoryLimit(getenv func(string) string) (int64, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if getenv("GOMEMLIMIT") != "" {
		return 0, nil
	}
	v := strings.TrimSpace(getenv(MemoryLimitEnv))
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s=%q is not a number of bytes", MemoryLimitEnv, v)
	}
	// A container without a limit gets the node's memory through the
	// downward API: nothing to keep under then, but 90% of it is harmless.
	limit := int64(float64(n) * memoryLimitShare)
	debug.SetMemoryLimit(limit)
	return limit, nil
}
