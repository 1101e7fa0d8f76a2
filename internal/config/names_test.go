package config

import (
	"strings"
	"testing"
)

func TestCheckPrefix(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string // "" means valid
	}{
		{"", ""},
		{"{user}/", ""},
		{"home/{user}/", ""},
		{"teams/{group}/", ""},
		{"{group}/{user}/", ""},
		{"a.b/c-d_e@f+g%h/", ""},
		{"...x/", ""},
		{"émile/", ""},
		{"x", `must end with "/"`},
		{"/", `must not start with "/"`},
		{"/x/", `must not start with "/"`},
		{"a//", `empty segment`},
		{"x{user}/", "{user} must be a whole path segment"},
		{"{user}x/", "{user} must be a whole path segment"},
		{"{user}{group}/", "{user} must be a whole path segment"},
		{"{USER}/", `unknown variable "{USER}"`},
		{"{}/", `unknown variable "{}"`},
		{"{/", `unmatched "{"`},
		{"}/", `unmatched "}"`},
		{"}{user}/", `unmatched "}"`},
		{"{{user}}/", `unmatched "{"`},
		{"a*/", `'*'`},
		{"a?/", `'?'`},
		{"$x/", `'$'`},
		{`a\b/`, `'\\'`},
		{"./", `"." segment`},
		{"a/../", `".." segment`},
		{"a b/", "whitespace"},
		{"a\u00a0b/", "whitespace"},
		{"a\x7fb/", "control"},
		{"a\xffb/", "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := checkPrefix(tt.in)
			if tt.wantErr == "" && got != "" || !strings.Contains(got, tt.wantErr) {
				t.Errorf("checkPrefix(%q) = %q, want %q", tt.in, got, tt.wantErr)
			}
		})
	}
}

func TestCheckContainer(t *testing.T) {
	tests := []struct{ in, wantErr string }{
		{"scratch", ""},
		{"scratch-{user}", ""},
		{"{user}", ""},
		{"{user}-data", ""},
		{"a-b-c", ""},
		{"ab", "3-63"},
		{strings.Repeat("a", 64), "3-63"},
		{"Scratch", "lowercase"},
		{"a--b", "single hyphens"},
		{"-ab", "start"},
		{"ab-", "end"},
		{"scratch-{user}-", "start and end"},
		{"scratch--{user}", "single hyphens"},
		{"scratch-{group}", "only {user}"},
		{"scratch-{usr}", `no "{" or "}"`},
		{"scratch_{user}", "lowercase"},
		{strings.Repeat("a", 23) + "{user}", ""},
		{strings.Repeat("a", 24) + "{user}", "shorten the rest of the template to at most 23 characters"},
		{"{user}-{user}", "names can reach 81"},
		{"{user}{user}", "names can reach 80"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := checkContainer(tt.in)
			if tt.wantErr == "" && got != "" || !strings.Contains(got, tt.wantErr) {
				t.Errorf("checkContainer(%q) = %q, want %q", tt.in, got, tt.wantErr)
			}
		})
	}
}

func TestCheckBuckets(t *testing.T) {
	tests := []struct {
		check     func(string) string
		in, wantE string
	}{
		{checkS3Bucket, "hub-scratch", ""},
		{checkS3Bucket, "hub.scratch.example", ""},
		{checkS3Bucket, "a1b", ""},
		{checkS3Bucket, "hub_scratch", "lowercase"},
		{checkS3Bucket, "Hub", "lowercase"},
		{checkS3Bucket, "-hub", "start and end"},
		{checkS3Bucket, "hub.", "start and end"},
		{checkS3Bucket, "a..b", `".."`},
		{checkS3Bucket, "a.-b", `".-"`},
		{checkS3Bucket, "10.0.0.1", "IP address"},
		{checkS3Bucket, "xn--abc", `"xn--"`},
		{checkS3Bucket, "data-s3alias", `"-s3alias"`},
		{checkS3Bucket, strings.Repeat("a", 64), "3-63"},
		{checkS3Bucket, "{user}", "lowercase"},
		{checkGCSBucket, "hub_scratch", ""},
		{checkGCSBucket, "data.example.org", ""},
		{checkGCSBucket, strings.Repeat("a", 64), "3-63"},
		{checkGCSBucket, strings.Repeat("a", 63) + "." + strings.Repeat("b", 63), ""},
		{checkGCSBucket, strings.Repeat("a", 64) + ".b", "at most 63"},
		{checkGCSBucket, "goog-data", "goog"},
		{checkGCSBucket, "my-google-data", "google"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := tt.check(tt.in)
			if tt.wantE == "" && got != "" || !strings.Contains(got, tt.wantE) {
				t.Errorf("check(%q) = %q, want %q", tt.in, got, tt.wantE)
			}
		})
	}
}

func TestCheckURL(t *testing.T) {
	tests := []struct{ in, wantErr string }{
		{"http://127.0.0.1:8081/hub/api", ""},
		{"https://hub.example.org/hub/api", ""},
		{"hub.example.org/hub/api", "absolute http or https"},
		{"ftp://hub/", "absolute http or https"},
		{"http:///api", "no host"},
		{"http://u:hunter2@hub/api", "must not hold a user name or password"},
		{"http://hub/api?x=1", "query or fragment"},
		{"http://hub/api#x", "query or fragment"},
		{"http://hub/%zz", "not a URL"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := checkURL(tt.in)
			if tt.wantErr == "" && got != "" || !strings.Contains(got, tt.wantErr) {
				t.Errorf("checkURL(%q) = %q, want %q", tt.in, got, tt.wantErr)
			}
			if strings.Contains(got, "hunter2") {
				t.Errorf("checkURL(%q) leaks the password: %q", tt.in, got)
			}
		})
	}
}

func TestLineIndex(t *testing.T) {
	idx := lineIndex{"": 1, "grants": 5, "grants[1]": 9, "grants[1].access": 11, "providers.s3": 3}
	for path, want := range map[string]int{
		"grants[1].access":   11,
		"grants[1].bucket":   9,
		"grants[1].allow.x":  9,
		"grants[2].name":     5,
		"providers.s3.type":  3,
		"providers.gcs.type": 1,
		"hub.api_url":        1,
		"":                   1,
	} {
		if got := idx.line(path); got != want {
			t.Errorf("line(%q) = %d, want %d", path, got, want)
		}
	}
	if got := lineIndex(nil).line("hub"); got != 0 {
		t.Errorf("nil index line = %d, want 0", got)
	}
}
