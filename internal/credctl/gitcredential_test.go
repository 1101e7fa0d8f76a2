package credctl

import (
	"strings"
	"testing"
)

// FuzzCredentialAttrs: whatever git (or anything else) writes on stdin,
// parsing never panics and yields no value holding a newline, so nothing
// from the input can add a line to what the helper prints.
func FuzzCredentialAttrs(f *testing.F) {
	for _, s := range []string{"", "protocol=https\nhost=github.com\n\n", "host=a=b\npath=x/y.git\n", "=\n\n\nhost=h", "wwwauth[]=Basic realm=\"x\"\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		attrs, err := readCredentialAttrs(strings.NewReader(in))
		if err != nil {
			return
		}
		for k, v := range attrs {
			if strings.ContainsAny(k+v, "\n") {
				t.Fatalf("attribute %q=%q holds a newline", k, v)
			}
		}
	})
}
