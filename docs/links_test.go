package docs

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// repoRoot is the repository, relative to this package.
const repoRoot = ".."

// mdLink matches a markdown link's target: [text](target).
var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// relPath matches a relative path written in code or prose that climbs out
// of a directory: ../shared/DESIGN.md.
var relPath = regexp.MustCompile("(?:^|[\\s`(\"'])((?:\\.\\./)+[\\w./-]+)")

// TestNoDocPointsOutsideRepo: every relative link and every ../ path in
// the repository's markdown resolves to a file inside the repository, so a
// newcomer with only the repository can follow each one.
func TestNoDocPointsOutsideRepo(t *testing.T) {
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".md") {
			return nil
		}
		n++
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		for _, p := range outsideTargets(root, path, string(b)) {
			t.Errorf("%s points at %s, which is not a file in the repository", rel, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 5 {
		t.Fatalf("found only %d markdown files under %s", n, root)
	}
}

// outsideTargets returns the relative targets in doc (the file at path)
// that leave root or do not exist.
func outsideTargets(root, path, doc string) []string {
	var targets []string
	for _, m := range mdLink.FindAllStringSubmatch(doc, -1) {
		targets = append(targets, m[1])
	}
	for _, m := range relPath.FindAllStringSubmatch(doc, -1) {
		targets = append(targets, m[1])
	}
	var bad []string
	seen := map[string]bool{}
	for _, tgt := range targets {
		if seen[tgt] {
			continue
		}
		seen[tgt] = true
		if strings.Contains(tgt, "://") || strings.HasPrefix(tgt, "#") || strings.HasPrefix(tgt, "mailto:") {
			continue
		}
		tgt, _, _ = strings.Cut(tgt, "#")
		tgt = strings.TrimRight(tgt, ".,;:")
		if tgt == "" {
			continue
		}
		abs := filepath.Join(filepath.Dir(path), filepath.FromSlash(tgt))
		if strings.HasPrefix(tgt, "/") {
			abs = filepath.Join(root, filepath.FromSlash(tgt))
		}
		if r, err := filepath.Rel(root, abs); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
			bad = append(bad, tgt)
			continue
		}
		if _, err := os.Stat(abs); err != nil {
			bad = append(bad, tgt)
		}
	}
	return bad
}

// TestOutsideTargetsFindsBadLinks: the check catches what it is for.
func TestOutsideTargetsFindsBadLinks(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "docs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "docs", "ok.md"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	doc := "[a](ok.md) [b](../shared/DESIGN.md) see `../../x.md` and [c](missing.md) [d](https://example.org/x) [e](#top)"
	got := outsideTargets(root, filepath.Join(root, "docs", "guide.md"), doc)
	want := []string{"../shared/DESIGN.md", "missing.md", "../../x.md"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("outsideTargets = %q, want %q", got, want)
	}
}
