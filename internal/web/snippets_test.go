package web

import (
	"strings"
	"testing"

	"github.com/credserver/credserver/internal/policy"
)

// TestSnippetsHTMLEscapes: the hand-written snippet block escapes every
// value, in text and in attributes.
func TestSnippetsHTMLEscapes(t *testing.T) {
	evil := `"><script>alert(1)</script><x y='`
	out := string(snippetsHTML(evil, []snippet{{ID: evil, Label: evil, Lang: evil, Code: evil}}))
	if strings.Contains(out, evil) || strings.Contains(out, "<script") || strings.Contains(out, "<x ") {
		t.Errorf("unescaped markup in:\n%s", out)
	}
	if n := strings.Count(out, "&lt;script&gt;"); n != 7 {
		t.Errorf("%d escaped copies, want 7 (the name twice, five fields):\n%s", n, out)
	}
}

// TestSnippetsUseTheLocation: every S3 snippet names the real bucket,
// prefix and endpoint.
func TestSnippetsUseTheLocation(t *testing.T) {
	v := policy.GrantView{Name: "scratch", Provider: "aws", Location: "s3://hub-scratch/ada/"}
	d := policy.Decision{Type: "aws", Bucket: "hub-scratch", Prefixes: []string{"ada/"}}
	for _, sn := range snippets(v, d, ProviderInfo{Type: "aws", S3Endpoint: "https://s3.example.org"}) {
		switch sn.Label {
		case "boto3":
			if !strings.Contains(sn.Code, `Bucket="hub-scratch", Prefix="ada/"`) || !strings.Contains(sn.Code, `endpoint_url="https://s3.example.org"`) {
				t.Errorf("boto3: %s", sn.Code)
			}
		case "aws CLI":
			if sn.Code != "aws --profile scratch --endpoint-url https://s3.example.org s3 ls s3://hub-scratch/ada/" {
				t.Errorf("aws CLI: %s", sn.Code)
			}
		case "s3fs / xarray":
			if !strings.Contains(sn.Code, `fs.ls("s3://hub-scratch/ada/")`) {
				t.Errorf("s3fs: %s", sn.Code)
			}
		}
	}
	if got := sh("it's"); got != `'it'\''s'` {
		t.Errorf("sh quoting = %s", got)
	}
}
