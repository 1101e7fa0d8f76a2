package app

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/credserver/credserver/internal/config"
)

// TestServiceAccessOffWarns: hub.require_service_access: false is logged as
// a warning every time a server is built, and not otherwise.
func TestServiceAccessOffWarns(t *testing.T) {
	for _, tc := range []struct {
		setting string
		warn    bool
	}{
		{"", false},
		{"  require_service_access: true\n", false},
		{"  require_service_access: false\n", true},
	} {
		cfg, err := config.Parse([]byte("hub:\n  api_url: http://127.0.0.1:1/hub/api\n" + tc.setting +
			"providers:\n  p: {type: aws, region: us-east-1, role_arn: \"arn:aws:iam::000000000000:role/r\"}\n" +
			"grants:\n  - {name: g, provider: p, bucket: scratch, prefix: \"{user}/\", access: read, allow: {users: [\"*\"]}}\n"))
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // every start, not once per process
			var buf bytes.Buffer
			log := slog.New(slog.NewTextHandler(&buf, nil))
			if _, err := Build(t.Context(), cfg, Options{Logger: log}); err != nil {
				t.Fatal(err)
			}
			got := strings.Contains(buf.String(), "level=WARN") && strings.Contains(buf.String(), "require_service_access is false")
			if got != tc.warn {
				t.Errorf("setting %q: warning logged = %v, want %v; log:\n%s", tc.setting, got, tc.warn, buf.String())
			}
		}
	}
}
