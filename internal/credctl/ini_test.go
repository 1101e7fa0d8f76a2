package credctl

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var testKeys = []keyValue{{"credential_process", "credctl get s --format credential-process"}, {"region", "r1"}}

func TestUpdateProfile(t *testing.T) {
	tests := []struct {
		name, profile, src, want string
	}{{
		name: "empty file", profile: "s", src: "",
		want: "[profile s]\ncredential_process = credctl get s --format credential-process\nregion = r1\n",
	}, {
		name: "append after a file without final newline", profile: "s", src: "[default]\nregion = x",
		want: "[default]\nregion = x\n\n[profile s]\ncredential_process = credctl get s --format credential-process\nregion = r1\n",
	}, {
		name: "append after a trailing blank line adds no second one", profile: "s", src: "[default]\nregion = x\n\n",
		want: "[default]\nregion = x\n\n[profile s]\ncredential_process = credctl get s --format credential-process\nregion = r1\n",
	}, {
		name: "a section without the profile prefix is not the profile", profile: "s", src: "[s]\nregion = x\n",
		want: "[s]\nregion = x\n\n[profile s]\ncredential_process = credctl get s --format credential-process\nregion = r1\n",
	}, {
		name: "a longer name is not the profile", profile: "s", src: "[profile s2]\nregion = x\n",
		want: "[profile s2]\nregion = x\n\n[profile s]\ncredential_process = credctl get s --format credential-process\nregion = r1\n",
	}, {
		name: "keys replaced in place, case and colon", profile: "s",
		src:  "[profile s]\nREGION : old\nCredential_Process=old\noutput = json\n[profile t]\nregion = t\n",
		want: "[profile s]\nregion = r1\ncredential_process = credctl get s --format credential-process\noutput = json\n[profile t]\nregion = t\n",
	}, {
		name: "missing key goes after the last setting, before the next section's comment", profile: "s",
		src:  "[profile s]\noutput = json\n\n# the t profile\n[profile t]\n",
		want: "[profile s]\noutput = json\ncredential_process = credctl get s --format credential-process\nregion = r1\n\n# the t profile\n[profile t]\n",
	}, {
		name: "header only, at end of file without newline", profile: "s", src: "[profile s]",
		want: "[profile s]\ncredential_process = credctl get s --format credential-process\nregion = r1\n",
	}, {
		name: "continuation of a replaced value is dropped, nested block kept", profile: "s",
		src:  "[profile s]\nregion = a\n  b\ns3 =\n  addressing_style = path\n",
		want: "[profile s]\nregion = r1\ns3 =\n  addressing_style = path\ncredential_process = credctl get s --format credential-process\n",
	}, {
		name: "a key inside a nested block is not the profile's key", profile: "s",
		src:  "[profile s]\ns3 =\n  region = nested\n",
		want: "[profile s]\ns3 =\n  region = nested\ncredential_process = credctl get s --format credential-process\nregion = r1\n",
	}, {
		name: "duplicates are folded into one", profile: "s",
		src:  "[profile s]\nregion = a\nregion = b\ncredential_process = x\n",
		want: "[profile s]\nregion = r1\ncredential_process = credctl get s --format credential-process\n",
	}, {
		name: "CRLF file keeps CRLF", profile: "s",
		src:  "[profile s]\r\nregion = a\r\n",
		want: "[profile s]\r\nregion = r1\r\ncredential_process = credctl get s --format credential-process\r\n",
	}, {
		name: "default profile", profile: "default",
		src:  "[profile default]\noutput = json\n[default]\nregion = a\n",
		want: "[profile default]\noutput = json\n[default]\nregion = r1\ncredential_process = credctl get s --format credential-process\n",
	}, {
		name: "new default section", profile: "default", src: "[profile x]\n",
		want: "[profile x]\n\n[default]\ncredential_process = credctl get s --format credential-process\nregion = r1\n",
	}, {
		name: "extra spaces in the header", profile: "s",
		src:  "[ profile   s ] ; note\n# c\nregion=a\n",
		want: "[ profile   s ] ; note\n# c\nregion = r1\ncredential_process = credctl get s --format credential-process\n",
	}, {
		name: "comment that looks like a key stays", profile: "s",
		src:  "[profile s]\n# region = commented\n;credential_process = old\n",
		want: "[profile s]\ncredential_process = credctl get s --format credential-process\nregion = r1\n# region = commented\n;credential_process = old\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(updateProfile([]byte(tt.src), tt.profile, testKeys))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("updateProfile (-want +got):\n%s", diff)
			}
			again := string(updateProfile([]byte(got), tt.profile, testKeys))
			if diff := cmp.Diff(got, again); diff != "" {
				t.Errorf("not idempotent (-once +twice):\n%s", diff)
			}
		})
	}
}

// FuzzUpdateProfile checks, for any file, that updating is idempotent, that
// the profile afterwards carries exactly our values, and that a file without
// the profile only grows at its end.
func FuzzUpdateProfile(f *testing.F) {
	for _, s := range []string{
		"", "[profile s]\nregion = a\n", "[default]\r\nx=1", "[profile s]\n  region = a\nregion: b\n\tc\n",
		"[profile s]\n[profile s]\nregion=1\n", "; c\n[profile t]\n", "[profile s]\n#x\n\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		once := updateProfile([]byte(src), "s", testKeys)
		twice := updateProfile(once, "s", testKeys)
		if string(once) != string(twice) {
			t.Fatalf("not idempotent:\nsrc   %q\nonce  %q\ntwice %q", src, once, twice)
		}
		lines := splitLines(string(once))
		start, end := findSection(lines, "s")
		if start < 0 {
			t.Fatalf("no [profile s] after update: %q", once)
		}
		got := map[string][]string{}
		for _, l := range lines[start+1 : end] {
			if k, ok := lineKey(l); ok {
				_, v, _ := strings.Cut(strings.TrimRight(l, "\r\n"), " = ")
				got[k] = append(got[k], v)
			}
		}
		for _, kv := range testKeys {
			if vs := got[kv.key]; len(vs) != 1 || vs[0] != kv.value {
				t.Fatalf("key %s has values %q, want exactly %q\nsrc  %q\nonce %q", kv.key, vs, kv.value, src, once)
			}
		}
		if s, _ := findSection(splitLines(src), "s"); s < 0 && !strings.HasPrefix(string(once), src) {
			t.Fatalf("a file without the profile was not kept as a prefix:\nsrc  %q\nonce %q", src, once)
		}
	})
}
