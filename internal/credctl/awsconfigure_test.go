package credctl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// configureHarness is a harness whose PATH finds the running credctl, so
// credential_process says plain "credctl".
func configureHarness(t *testing.T) (*harness, *fakeCredserver) {
	f := credentialFake(t)
	h := newHarness(t, f)
	h.path["credctl"] = h.exe
	return h, f
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

func TestAWSConfigureNewFile(t *testing.T) {
	h, _ := configureHarness(t)
	r := h.run("aws", "configure")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	path := filepath.Join(h.home, ".aws", "config")
	want := "[profile scratch]\n" +
		"credential_process = credctl get scratch --format credential-process\n" +
		"region = us-west-2\n"
	if diff := cmp.Diff(want, readFile(t, path)); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if m := mode(t, path); m != 0o600 {
		t.Errorf("file mode %v, want 0600", m)
	}
	if m := mode(t, filepath.Dir(path)); m != 0o700 {
		t.Errorf("directory mode %v, want 0700", m)
	}
	wantOut := "Wrote profile scratch to " + path + ":\n\n" +
		"  [profile scratch]\n" +
		"  credential_process = credctl get scratch --format credential-process\n" +
		"  region = us-west-2\n\n" +
		"AWS tools now fetch and refresh credentials through credctl when you select this profile:\n\n" +
		"  shell, aws CLI:  export AWS_PROFILE=scratch\n" +
		"  boto3:           boto3.Session(profile_name='scratch')\n" +
		"  s3fs / fsspec:   s3fs.S3FileSystem(profile='scratch')\n"
	if diff := cmp.Diff(wantOut, r.stdout); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}
	if strings.Contains(r.stdout, "sec/ret+Key1") || strings.Contains(readFile(t, path), "sec/ret+Key1") {
		t.Error("the secret key was printed or written; only credential_process may be")
	}
}

// TestAWSConfigureGolden updates a hand-written config and compares with a
// golden file, then runs again to check the result is a fixed point.
func TestAWSConfigureGolden(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"scratch", []string{"aws", "configure"}},
		{"team-data", []string{"aws", "configure", "--grant", "team-data", "--profile", "team"}},
		{"default", []string{"aws", "configure", "--profile", "default"}},
	}
	existing := readFile(t, filepath.Join("testdata", "awsconfig", "existing.ini"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := configureHarness(t)
			path := filepath.Join(t.TempDir(), "aws config")
			writeFile(t, path, existing, 0o644)
			h.env["AWS_CONFIG_FILE"] = path
			want := readFile(t, filepath.Join("testdata", "awsconfig", tt.name+".want.ini"))

			r := h.run(tt.args...)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			if diff := cmp.Diff(want, readFile(t, path)); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			if m := mode(t, path); m != 0o644 {
				t.Errorf("mode %v, want the file's own 0644 kept", m)
			}

			r = h.run(tt.args...)
			if r.code != 0 {
				t.Fatalf("second run: exit %d, stderr %q", r.code, r.stderr)
			}
			if diff := cmp.Diff(want, readFile(t, path)); diff != "" {
				t.Errorf("second run changed the file (-first +second):\n%s", diff)
			}
			if !strings.Contains(r.stdout, "is already up to date") {
				t.Errorf("second run stdout %q does not say the profile was up to date", r.stdout)
			}
			entries, err := os.ReadDir(filepath.Dir(path))
			if err != nil || len(entries) != 1 {
				t.Errorf("directory holds %d entries (%v), want only the config (no temp files left)", len(entries), err)
			}
		})
	}
}

func TestAWSConfigureCredentialProcess(t *testing.T) {
	tests := []struct {
		name   string
		exe    string   // relative to a temp dir
		onPath string   // what LookPath("credctl") finds, relative; "" for nothing
		args   []string // after "aws configure"
		global []string // before "aws"
		want   func(dir, server string) string
	}{{
		name: "on PATH", exe: "bin/credctl", onPath: "bin/credctl",
		want: func(dir, server string) string { return "credctl get scratch --format credential-process" },
	}, {
		name: "not on PATH", exe: "bin/credctl",
		want: func(dir, server string) string {
			return filepath.Join(dir, "bin/credctl") + " get scratch --format credential-process"
		},
	}, {
		name: "another credctl on PATH", exe: "bin/credctl", onPath: "other/credctl",
		want: func(dir, server string) string {
			return filepath.Join(dir, "bin/credctl") + " get scratch --format credential-process"
		},
	}, {
		name: "path with a space", exe: "my tools/credctl",
		want: func(dir, server string) string {
			return "'" + filepath.Join(dir, "my tools/credctl") + "' get scratch --format credential-process"
		},
	}, {
		name: "--server on the command", exe: "bin/credctl", onPath: "bin/credctl",
		args: []string{"--server", "SERVER"},
		want: func(dir, server string) string {
			return "credctl get scratch --format credential-process --server " + server
		},
	}, {
		name: "global --server", exe: "bin/credctl", onPath: "bin/credctl",
		global: []string{"--server", "SERVER"},
		want: func(dir, server string) string {
			return "credctl get scratch --format credential-process --server " + server
		},
	}, {
		name: "odd grant name", exe: "bin/credctl", onPath: "bin/credctl",
		args: []string{"--grant", "it's", "--profile", "p"},
		want: func(dir, server string) string {
			return `credctl get 'it'\''s' --format credential-process`
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := credentialFake(t)
			f.grants["it's"] = reply{status: 200, body: awsBody}
			h := newHarness(t, f)
			dir := t.TempDir()
			h.exe = filepath.Join(dir, tt.exe)
			writeFile(t, h.exe, "#!/bin/sh\n", 0o755)
			if tt.onPath != "" {
				p := filepath.Join(dir, tt.onPath)
				if _, err := os.Stat(p); err != nil {
					writeFile(t, p, "#!/bin/sh\n", 0o755)
				}
				h.path["credctl"] = p
			}
			subst := func(args []string) []string {
				out := make([]string, len(args))
				for i, a := range args {
					out[i] = strings.ReplaceAll(a, "SERVER", f.URL())
				}
				return out
			}
			if strings.Contains(strings.Join(append(tt.args, tt.global...), " "), "SERVER") {
				h.env["CREDSERVER_URL"] = "http://127.0.0.1:1/not-used"
			}
			args := append(append(subst(tt.global), "aws", "configure"), subst(tt.args)...)
			r := h.run(args...)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			cfg := readFile(t, filepath.Join(h.home, ".aws", "config"))
			want := "credential_process = " + tt.want(dir, f.URL()) + "\n"
			if !strings.Contains(cfg, want) {
				t.Errorf("config lacks %q:\n%s", want, cfg)
			}
		})
	}
}

func TestAWSConfigureWritesNothingOnFailure(t *testing.T) {
	tests := []struct {
		grant string
		code  int
	}{
		{"gcs-data", 2}, // not an aws grant
		{"nope", 1},     // the server refuses
	}
	for _, tt := range tests {
		t.Run(tt.grant, func(t *testing.T) {
			h, _ := configureHarness(t)
			r := h.run("aws", "configure", "--grant", tt.grant)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d; stderr %q", r.code, tt.code, r.stderr)
			}
			if _, err := os.Stat(filepath.Join(h.home, ".aws")); !os.IsNotExist(err) {
				t.Errorf("~/.aws exists after a failed configure (stat: %v)", err)
			}
		})
	}
}

func TestAWSConfigurePaths(t *testing.T) {
	t.Run("tilde in AWS_CONFIG_FILE", func(t *testing.T) {
		h, _ := configureHarness(t)
		h.env["AWS_CONFIG_FILE"] = "~/cfg/aws"
		if r := h.run("aws", "configure"); r.code != 0 {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
		if !strings.HasPrefix(readFile(t, filepath.Join(h.home, "cfg", "aws")), "[profile scratch]\n") {
			t.Error("~/cfg/aws was not written")
		}
	})
	t.Run("symlinked config is updated at its target", func(t *testing.T) {
		h, _ := configureHarness(t)
		target := filepath.Join(t.TempDir(), "dotfiles", "aws-config")
		writeFile(t, target, "[profile other]\nregion = x\n", 0o600)
		link := filepath.Join(h.home, ".aws", "config")
		if err := os.MkdirAll(filepath.Dir(link), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		if r := h.run("aws", "configure"); r.code != 0 {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("the symlink was replaced (lstat: %v)", err)
		}
		if got := readFile(t, target); !strings.Contains(got, "[profile other]\nregion = x\n\n[profile scratch]\n") {
			t.Errorf("target not updated as expected:\n%s", got)
		}
	})
}
