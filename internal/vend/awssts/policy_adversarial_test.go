package awssts

import (
	"encoding/json"
	"github.com/credserver/credserver/internal/policy"
	"strings"
	"testing"
)

// parsedPolicy is decoded independently of the encoder's structs.
type parsedPolicy struct {
	Version   string
	Statement []struct {
		Sid       string
		Effect    string
		Action    []string
		Resource  []string
		Condition map[string]map[string][]string
	}
}

// checkPolicyConfined asserts that policy grants only what SessionPolicy
// means to grant for bucket and prefixes: three Allow statements, every
// resource inside the bucket, and no wildcard except the one appended after
// each prefix.
func checkPolicyConfined(t *testing.T, policy []byte, bucket string, prefixes []string) {
	t.Helper()
	var p parsedPolicy
	dec := json.NewDecoder(strings.NewReader(string(policy)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("policy does not decode: %v\n%s", err, policy)
	}
	if len(p.Statement) != 3 {
		t.Fatalf("policy has %d statements, want 3:\n%s", len(p.Statement), policy)
	}
	allowed := map[string]bool{}
	for _, pre := range prefixes {
		allowed[pre+"*"] = true
	}
	appended := 0
	for _, st := range p.Statement {
		if st.Effect != "Allow" {
			t.Errorf("statement effect %q", st.Effect)
		}
		for _, a := range st.Action {
			if strings.ContainsAny(a, "*?") {
				t.Errorf("wildcard action %q", a)
			}
		}
		for _, r := range st.Resource {
			switch {
			case r == "arn:aws:s3:::"+bucket:
			case strings.HasPrefix(r, "arn:aws:s3:::"+bucket+"/") && allowed[strings.TrimPrefix(r, "arn:aws:s3:::"+bucket+"/")]:
				appended++
			default:
				t.Errorf("resource %q is not the bucket or one of its prefixes", r)
			}
		}
		for op, keys := range st.Condition {
			if op != "StringLike" {
				t.Errorf("condition operator %q", op)
			}
			for key, values := range keys {
				if key != "s3:prefix" {
					t.Errorf("condition key %q", key)
				}
				for _, v := range values {
					if !allowed[v] {
						t.Errorf("s3:prefix value %q is not one of the prefixes", v)
					}
					appended++
				}
			}
		}
	}
	if got := strings.Count(string(policy), "*"); got != appended {
		t.Errorf("policy holds %d '*', want only the %d appended after prefixes:\n%s", got, appended, policy)
	}
	if strings.ContainsAny(string(policy), "?$") {
		t.Errorf("policy holds '?' or '$':\n%s", policy)
	}
}

func TestSessionPolicyConfined(t *testing.T) {
	tests := []struct {
		name     string
		prefixes []string
	}{
		{"ordinary", []string{"alice/"}},
		{"quote tries to close the string", []string{`x"],"Resource":["arn:aws:s3:::other/`}},
		{"tries to add a statement", []string{`x"]},{"Effect":"Allow","Action":["s3:DeleteObject"],"Resource":["arn:aws:s3:::other/`}},
		{"backslashes", []string{`a\"\\/`}},
		{"unicode", []string{"jos\u00e9/", "\u2028/"}},
		{"two prefixes", []string{"alice/", "groups/geo/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, access := range []policy.Access{policy.AccessRead, policy.AccessReadWrite} {
				policy, err := SessionPolicy("scratch", tt.prefixes, access)
				if err != nil {
					t.Fatal(err)
				}
				checkPolicyConfined(t, policy, "scratch", tt.prefixes)
			}
		})
	}
}

func FuzzSessionPolicy(f *testing.F) {
	for _, s := range []string{"alice/", "", `x"]}/`, "a*/", "a?/", "${x}/", "noslash", "\x00/"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		prefixes := []string{a, b}
		policy, err := SessionPolicy("scratch", prefixes, policy.AccessReadWrite)
		if err != nil {
			return
		}
		for _, p := range prefixes {
			if p != "" && (!strings.HasSuffix(p, "/") || strings.ContainsAny(p, "*?$")) {
				t.Fatalf("accepted prefix %q", p)
			}
		}
		if a == "" || b == "" {
			prefixes = []string{""}
		}
		checkPolicyConfined(t, policy, "scratch", prefixes)
	})
}
