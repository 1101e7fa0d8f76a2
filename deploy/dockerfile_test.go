package deploy_test

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// dockerfile is the repository's Dockerfile, relative to this package.
const dockerfile = "../Dockerfile"

// testVersion stands in for --build-arg VERSION=...
const testVersion = "v0.0.0-dockerfile-test"

// TestDockerfileBuildsStaticBinaries runs the Dockerfile's own go build
// command (there is no container engine here) and checks what the image
// promises: both commands, static (no ELF interpreter, no dynamic section),
// with VERSION linked into both.
func TestDockerfileBuildsStaticBinaries(t *testing.T) {
	if testing.Short() {
		t.Skip("builds both commands")
	}
	df := readDockerfile(t)
	run := ""
	for _, ins := range df {
		if strings.HasPrefix(ins, "RUN ") && strings.Contains(ins, "go build") {
			run = strings.TrimPrefix(ins, "RUN ")
		}
	}
	if run == "" {
		t.Fatal("no RUN ... go build in the Dockerfile")
	}
	words := shellWords(t, strings.ReplaceAll(run, "${VERSION}", testVersion))
	var env []string
	for len(words) > 0 && regexp.MustCompile(`^[A-Z_]+=`).MatchString(words[0]) {
		env, words = append(env, words[0]), words[1:]
	}
	if !slices.Contains(env, "CGO_ENABLED=0") {
		t.Errorf("the build runs with %v, want CGO_ENABLED=0", env)
	}
	if len(words) < 2 || words[0] != "go" || words[1] != "build" || !slices.Contains(words, "-trimpath") {
		t.Fatalf("build command = %q, want go build -trimpath ...", words)
	}
	for _, pkg := range []string{"./cmd/credserver", "./cmd/credctl"} {
		if !slices.Contains(words, pkg) {
			t.Errorf("the build leaves out %s", pkg)
		}
	}
	out := t.TempDir()
	i := slices.Index(words, "-o")
	if i < 0 || i+1 >= len(words) || words[i+1] != "/out/" {
		t.Fatalf("build command %q does not write to /out/, which the final stage copies from", words)
	}
	words[i+1] = out + string(filepath.Separator)
	cmd := exec.Command(words[0], words[1:]...)
	cmd.Dir = ".."
	// The image's context has no .git (.dockerignore), so no VCS stamping.
	cmd.Env = append(append(os.Environ(), "GOFLAGS=-buildvcs=false"), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", run, err, b)
	}
	for _, bin := range []string{"credserver", "credctl"} {
		p := filepath.Join(out, bin)
		checkStatic(t, p)
		b, err := exec.Command(p, "version").CombinedOutput()
		if err != nil || !strings.Contains(string(b), testVersion) {
			t.Errorf("%s version = %q (%v), want it to name %s: the -X paths in -ldflags are wrong", bin, b, err, testVersion)
		}
	}
}

// checkStatic fails unless path is an ELF executable with no interpreter
// and no dynamic linking information.
func checkStatic(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s has a %v program header: it is dynamically linked", filepath.Base(path), p.Type)
		}
	}
	if f.Section(".dynamic") != nil || f.Section(".interp") != nil {
		t.Errorf("%s has a .dynamic or .interp section", filepath.Base(path))
	}
}

// TestDockerfileFinalStage checks the run-time image: distroless (no shell),
// non-root, both binaries in /usr/local/bin, credserver serve as entrypoint.
func TestDockerfileFinalStage(t *testing.T) {
	df := readDockerfile(t)
	last := 0
	for i, ins := range df {
		if strings.HasPrefix(ins, "FROM ") {
			last = i
		}
	}
	final := df[last:]
	want := []string{
		"FROM gcr.io/distroless/static-debian12:nonroot",
		"COPY --from=build /out/credserver /out/credctl /usr/local/bin/",
		"USER 65532:65532",
		`ENTRYPOINT ["/usr/local/bin/credserver", "serve"]`,
	}
	for _, w := range want {
		if !slices.Contains(final, w) {
			t.Errorf("the final stage lacks %q:\n%s", w, strings.Join(final, "\n"))
		}
	}
	if !slices.ContainsFunc(df, func(s string) bool { return strings.HasPrefix(s, "FROM golang:") && strings.HasSuffix(s, " AS build") }) {
		t.Error("no golang build stage named build")
	}
}

// readDockerfile returns the Dockerfile's instructions, continuation lines
// joined, comments and blank lines dropped.
func readDockerfile(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur.WriteString(strings.TrimSuffix(trimmed, `\`) + " ")
			continue
		}
		cur.WriteString(trimmed)
		out = append(out, cur.String())
		cur.Reset()
	}
	return out
}

// shellWords splits a command line the way /bin/sh would for the forms the
// Dockerfile uses: blanks separate words, double quotes group them.
func shellWords(t *testing.T, s string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inQuote, inWord := false, false
	for _, r := range s {
		switch {
		case r == '"':
			inQuote, inWord = !inQuote, true
		case (r == ' ' || r == '\t') && !inQuote:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inQuote {
		t.Fatalf("unbalanced quote in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}
