package app

import (
	"math"
	"runtime/debug"
	"testing"
)

func TestSetMemoryLimit(t *testing.T) {
	t.Cleanup(func() { debug.SetMemoryLimit(math.MaxInt64) })
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	tests := []struct {
		name    string
		env     map[string]string
		want    int64
		wantErr bool
	}{
		{"no limit", nil, 0, false},
		{"256Mi", map[string]string{MemoryLimitEnv: "268435456"}, 241591910, false},
		{"GOMEMLIMIT wins", map[string]string{MemoryLimitEnv: "268435456", "GOMEMLIMIT": "100MiB"}, 0, false},
		{"not a number", map[string]string{MemoryLimitEnv: "256Mi"}, 0, true},
		{"negative", map[string]string{MemoryLimitEnv: "-1"}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			debug.SetMemoryLimit(math.MaxInt64)
			got, err := SetMemoryLimit(env(tt.env))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("SetMemoryLimit = %d, %v; want %d (error %v)", got, err, tt.want, tt.wantErr)
			}
			if cur := debug.SetMemoryLimit(-1); tt.want != 0 && cur != tt.want {
				t.Errorf("runtime limit = %d, want %d", cur, tt.want)
			}
		})
	}
}
