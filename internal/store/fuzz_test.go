package store_test

import (
	"bytes"
	"testing"

	"github.com/credserver/credserver/internal/store"
)

// FuzzParseKey: any file content is either refused or yields a 32-byte,
// non-zero key, and the error never echoes the content.
func FuzzParseKey(f *testing.F) {
	for _, s := range []string{"", "abc", "0123456789abcdef0123456789abcdef", string(bytes.Repeat([]byte{0xfe}, 32)),
		"5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\n", "WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo="} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		key, err := store.ParseKey(b)
		if err != nil {
			if len(b) >= 16 && bytes.Contains([]byte(err.Error()), b) {
				t.Fatalf("error echoes the key file: %v", err)
			}
			return
		}
		if len(key) != store.KeySize || bytes.Equal(key, make([]byte, store.KeySize)) {
			t.Fatalf("accepted key of %d bytes (zero: %v)", len(key), bytes.Equal(key, make([]byte, len(key))))
		}
		if _, err := store.NewSealer(key); err != nil {
			t.Fatal(err)
		}
	})
}
