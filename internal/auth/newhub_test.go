package auth

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNewHub(t *testing.T) {
	tests := []struct {
		name    string
		cfg     HubConfig
		wantErr bool
	}{
		{"ok", HubConfig{APIURL: "http://127.0.0.1:8081/hub/api"}, false},
		{"https", HubConfig{APIURL: "https://hub.example.org/hub/api"}, false},
		{"empty", HubConfig{}, true},
		{"relative", HubConfig{APIURL: "/hub/api"}, true},
		{"other scheme", HubConfig{APIURL: "ftp://hub/hub/api"}, true},
		{"query", HubConfig{APIURL: "http://hub/hub/api?x=1"}, true},
		{"negative ttl", HubConfig{APIURL: "http://hub/hub/api", CacheTTL: -time.Second}, true},
		{"negative size", HubConfig{APIURL: "http://hub/hub/api", MaxEntries: -1}, true},
		{"empty scope", HubConfig{APIURL: "http://hub/hub/api", RequireScopes: []string{""}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewHub(tt.cfg)
			if (err != nil) != tt.wantErr {
				t.Errorf("NewHub error = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func TestNewHubDefaultsAndClientCopy(t *testing.T) {
	client := &http.Client{}
	h, err := NewHub(HubConfig{APIURL: "http://hub/hub/api", Client: client})
	if err != nil {
		t.Fatal(err)
	}
	if client.CheckRedirect != nil {
		t.Error("NewHub changed the caller's client")
	}
	if h.client == client || h.client.CheckRedirect == nil {
		t.Error("Hub does not use its own non-redirecting copy of the client")
	}
	got := []time.Duration{h.ttl, h.negTTL, h.timeout}
	want := []time.Duration{60 * time.Second, 10 * time.Second, 10 * time.Second}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if h.userURL != "http://hub/hub/api/user" {
		t.Errorf("userURL = %q", h.userURL)
	}

	d, err := NewHub(HubConfig{APIURL: "http://hub/hub/api"})
	if err != nil {
		t.Fatal(err)
	}
	if d.client.Timeout != 10*time.Second || d.client.CheckRedirect == nil {
		t.Errorf("default client: timeout %v, redirects blocked %v", d.client.Timeout, d.client.CheckRedirect != nil)
	}
}
