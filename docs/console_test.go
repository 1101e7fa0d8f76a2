package docs

// The docs test: every shell block of README.md, docs/user-guide.md and
// docs/admin-guide.md runs against a local stack (real JupyterHub 3, MinIO
// and credserver from internal/testenv/stack), as hub user "ada" (group "staff") in
// the environment JupyterHub gives a user server, with the distribution's
// awscli and boto3. The conventions, for anyone adding a block:
//
//   - A block fenced ```sh or ```console is run; any other language is not.
//   - <!-- docs-test: skip (REASON) --> on the line just before the fence
//     skips the block: for what cannot run here (a Kubernetes cluster,
//     docker, mc, a browser). The test logs every skipped block with its
//     reason; keep the reason honest.
//   - In a ```console block, a line starting with "$ " is a command
//     (continued by a trailing "\", or to the end of a heredoc); the lines
//     up to the next command are its expected output. Each expected line
//     must appear in the command's output (stdout and stderr), in order,
//     runs of blanks counting as one; a line "..." stands for anything.
//     The server's home directory is shown as /home/jovyan.
//   - A command must exit 0, unless its expected output shows an error
//     (a line with "error", "denied" or starting "credctl: ").
//   - A ```sh block is one script that must exit 0; it shows no output.
//   - The blocks of one document run in order in one shell session:
//     exported variables and the working directory carry over.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/credserver/credserver/internal/testenv/peers"
	"github.com/credserver/credserver/internal/testenv/stack"
)

// docsConfig is the hub the docs describe: a scratch prefix per user and a
// shared bucket staff may read.
const docsConfig = `listen: {{.Listen}}
base_path: ` + stack.BasePath + `
hub:
  api_url: {{.HubAPI}}
providers:
  s3:
    type: aws
    region: us-east-1
    role_arn: arn:aws:iam::000000000000:role/hub-users
    sts_endpoint: {{.S3}}
    s3_endpoint: {{.S3}}
grants:
  - name: scratch
    provider: s3
    bucket: hub-scratch
    prefix: "{user}/"
    access: readwrite
    max_duration: 12h
    allow: {users: ["*"]}
  - name: shared
    provider: s3
    bucket: hub-shared
    prefix: ""
    access: read
    allow: {groups: [staff]}
`

// docHome is how the documents show the user's home directory.
const docHome = "/home/jovyan"

// block is one fenced shell block.
type block struct {
	doc  string
	line int    // of the opening fence
	lang string // sh or console
	skip string // the skip reason, "" to run
	cmds []command
}

// command is one command of a block and the output the document shows.
type command struct {
	line int
	text string
	want []string
}

var (
	fenceRE = regexp.MustCompile("^(\\s*)```([a-z]*)\\s*$")
	skipRE  = regexp.MustCompile(`^\s*<!-- docs-test: skip \((.+)\) -->\s*$`)
	heredoc = regexp.MustCompile(`<<-?\s*'?"?([A-Za-z_]+)'?"?`)
)

// parseBlocks returns the sh and console blocks of a markdown document.
func parseBlocks(name, doc string) ([]block, error) {
	lines := strings.Split(doc, "\n")
	var out []block
	for i := 0; i < len(lines); i++ {
		m := fenceRE.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		indent, lang := m[1], m[2]
		start := i
		var body []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			body = append(body, strings.TrimPrefix(lines[i], indent))
		}
		if i == len(lines) {
			return nil, fmt.Errorf("%s:%d: unclosed code block", name, start+1)
		}
		if lang != "sh" && lang != "console" {
			continue
		}
		b := block{doc: name, line: start + 1, lang: lang}
		if start > 0 {
			if s := skipRE.FindStringSubmatch(lines[start-1]); s != nil {
				b.skip = s[1]
			}
		}
		if lang == "sh" {
			b.cmds = []command{{line: start + 2, text: strings.Join(body, "\n")}}
		} else {
			cmds, err := parseConsole(name, start+2, body)
			if err != nil {
				return nil, err
			}
			b.cmds = cmds
		}
		out = append(out, b)
	}
	return out, nil
}

// parseConsole splits a console block into commands and their output.
func parseConsole(name string, first int, body []string) ([]command, error) {
	var cmds []command
	for j := 0; j < len(body); j++ {
		l := body[j]
		if !strings.HasPrefix(l, "$ ") {
			if len(cmds) == 0 {
				if strings.TrimSpace(l) == "" {
					continue
				}
				return nil, fmt.Errorf("%s:%d: console block output before any \"$ \" command", name, first+j)
			}
			if strings.TrimSpace(l) != "" {
				cmds[len(cmds)-1].want = append(cmds[len(cmds)-1].want, l)
			}
			continue
		}
		c := command{line: first + j, text: strings.TrimPrefix(l, "$ ")}
		for strings.HasSuffix(c.text, "\\") && j+1 < len(body) {
			j++
			c.text += "\n" + body[j]
		}
		if m := heredoc.FindStringSubmatch(c.text); m != nil {
			for j+1 < len(body) {
				j++
				c.text += "\n" + body[j]
				if strings.TrimSpace(body[j]) == m[1] {
					break
				}
			}
		}
		cmds = append(cmds, c)
	}
	return cmds, nil
}

// session runs commands in one shell session per document.
type session struct {
	env   []string
	state string // directory holding env.sh and cwd
	home  string
}

func newSession(env []string, home, state string) (*session, error) {
	if err := os.MkdirAll(state, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(state, "cwd"), []byte(home), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(state, "env.sh"), nil, 0o600); err != nil {
		return nil, err
	}
	return &session{env: env, state: state, home: home}, nil
}

// run runs one command and returns its combined output and exit status.
func (s *session) run(text string) (string, int, error) {
	script := `cd "$(cat "$DOCS_STATE/cwd")" || exit 99
. "$DOCS_STATE/env.sh"
` + text + `
__rc=$?
export -p | grep -v ' DOCS_STATE=' > "$DOCS_STATE/env.sh"
pwd > "$DOCS_STATE/cwd"
exit $__rc
`
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/bash", "-c", script)
	cmd.Env = append(append([]string(nil), s.env...), "DOCS_STATE="+s.state)
	cmd.Dir = s.home
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out.String(), ee.ExitCode(), nil
	}
	return out.String(), 0, err
}

// runBlocks runs the blocks of one document in s and returns one problem
// per failing command.
func runBlocks(s *session, blocks []block) []string {
	var problems []string
	for _, b := range blocks {
		if b.skip != "" {
			continue
		}
		for _, c := range b.cmds {
			out, code, err := s.run(c.text)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s:%d: %s: %v", b.doc, c.line, c.text, err))
				continue
			}
			out = strings.ReplaceAll(out, s.home, docHome)
			if code != 0 && !showsError(c.want) {
				problems = append(problems, fmt.Sprintf("%s:%d: %q exited %d:\n%s", b.doc, c.line, c.text, code, out))
				continue
			}
			if missing := unmatched(c.want, out); missing != "" {
				problems = append(problems, fmt.Sprintf("%s:%d: %q: the output lacks the document's line %q; it was:\n%s", b.doc, c.line, c.text, missing, out))
			}
		}
	}
	return problems
}

func showsError(want []string) bool {
	for _, w := range want {
		l := strings.ToLower(w)
		if strings.Contains(l, "error") || strings.Contains(l, "denied") || strings.HasPrefix(w, "credctl: ") {
			return true
		}
	}
	return false
}

// unmatched returns the first expected line that does not appear, in
// order, in out ("" when all do).
func unmatched(want []string, out string) string {
	got := strings.Split(out, "\n")
	j := 0
	for _, w := range want {
		w = collapse(w)
		if w == "..." {
			continue
		}
		for j < len(got) && !strings.Contains(collapse(got[j]), w) {
			j++
		}
		if j == len(got) {
			return w
		}
		j++
	}
	return ""
}

func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// consoleDocs are the documents whose blocks must run.
var consoleDocs = []string{"../README.md", "user-guide.md", "admin-guide.md"}

// TestConsoleBlocks runs every shell block of the README and the guides
// against the local stack, then checks that the harness fails a synthetic
// document with a wrong command and one with wrong output.
func TestConsoleBlocks(t *testing.T) {
	peers.Require(t, "jupyterhub", "minio", "aws", "python3")
	var all [][]block
	skipped := 0
	for _, name := range consoleDocs {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		blocks, err := parseBlocks(filepath.Base(name), string(b))
		if err != nil {
			t.Fatal(err)
		}
		for _, bl := range blocks {
			if bl.skip != "" {
				skipped++
				t.Logf("skipped %s:%d (%s)", bl.doc, bl.line, bl.skip)
			}
		}
		all = append(all, blocks)
	}

	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	build := exec.Command("go", "build", "-o", bin+string(filepath.Separator), "./cmd/credctl", "./cmd/credserver")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st, err := stack.Start(ctx, stack.Options{
		Dir: filepath.Join(dir, "stack"), Users: []string{"ada", "someone-else"},
		Groups: map[string][]string{"staff": {"ada"}}, Buckets: []string{"hub-scratch", "hub-shared"},
		Config: docsConfig, Logf: t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	newUserSession := func(name string) *session {
		nb, err := st.NewNotebook("ada", filepath.Join(dir, "home-"+name), bin)
		if err != nil {
			t.Fatal(err)
		}
		// What the hub snippet sets for each server from credserver's answer.
		env := append(nb.Env, "SCRATCH_BUCKET=s3://hub-scratch/ada", "SCRATCH_URL=s3://hub-scratch/ada/")
		s, err := newSession(env, nb.Home, filepath.Join(dir, "state-"+name))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	ran := 0
	for i, blocks := range all {
		name := filepath.Base(consoleDocs[i])
		for _, b := range blocks {
			if b.skip == "" {
				ran += len(b.cmds)
			}
		}
		t.Run(name, func(t *testing.T) {
			for _, p := range runBlocks(newUserSession(name), blocks) {
				t.Error(p)
			}
		})
	}
	t.Logf("ran %d commands; skipped %d blocks", ran, skipped)
	if ran < 15 {
		t.Errorf("only %d commands ran: the documents lost their examples, or the parser broke", ran)
	}

	t.Run("harness fails wrong documents", func(t *testing.T) {
		for _, tt := range []struct{ doc, want string }{
			{"```console\n$ credctl whoamii\n```\n", "exited 2"},
			{"```console\n$ credctl whoami\nuser:    bob\n```\n", `lacks the document's line "user: bob"`},
			{"```sh\ncredctl get nope --format env\n```\n", "exited 1"},
			{"```console\n$ aws s3 ls s3://hub-scratch/ada/\n```\n", "exited"},
		} {
			blocks, err := parseBlocks("synthetic.md", tt.doc)
			if err != nil {
				t.Fatal(err)
			}
			problems := runBlocks(newUserSession("synthetic"), blocks)
			if len(problems) != 1 || !strings.Contains(problems[0], tt.want) {
				t.Errorf("document %q: problems %q, want one saying %q", tt.doc, problems, tt.want)
			}
		}
		// And a right one passes, skip markers are honoured.
		blocks, err := parseBlocks("synthetic.md", "```console\n$ credctl whoami\nuser:    ada\n...\n  scratch  aws  readwrite  s3://hub-scratch/ada/  12h\n```\n\n<!-- docs-test: skip (needs a Kubernetes cluster) -->\n```console\n$ kubectl get pods\n```\n")
		if err != nil {
			t.Fatal(err)
		}
		if len(blocks) != 2 || blocks[1].skip != "needs a Kubernetes cluster" {
			t.Fatalf("parsed %+v", blocks)
		}
		if problems := runBlocks(newUserSession("synthetic-ok"), blocks); len(problems) != 0 {
			t.Errorf("a right document failed: %q", problems)
		}
	})
}
