package peers

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// ErrNotFound reports that a peer binary is not installed where Bin looks.
var ErrNotFound = errors.New("peer not installed")

// debianFirst names programs whose Debian build in /usr/bin is wanted over
// whatever comes first in PATH: the machine may have a pyenv python (and tools
// installed into it) ahead of the Debian python that jupyterhub, awscli and
// boto3 were installed for.
var debianFirst = map[string]bool{
	"jupyterhub":              true,
	"python3":                 true,
	"aws":                     true,
	"configurable-http-proxy": true,
	"jupyterhub-singleuser":   true,
}

// Bin locates the peer program name. It looks in $CREDSERVER_PEERS_DIR/bin,
// then $HOME/.cache/credserver-peers/bin (where install-peers.sh puts MinIO),
// then, for the Debian-packaged peers (jupyterhub, python3, aws,
// configurable-http-proxy), in /usr/bin, and finally in PATH. The result is an
// absolute path. A missing program is an error wrapping ErrNotFound.
func Bin(name string) (string, error) {
	var dirs []string
	if d := os.Getenv("CREDSERVER_PEERS_DIR"); d != "" {
		dirs = append(dirs, filepath.Join(d, "bin"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".cache", "credserver-peers", "bin"))
	}
	if debianFirst[name] {
		dirs = append(dirs, "/usr/bin")
	}
	dirs = append(dirs, postgresBinDirs(name)...) // Debian's server programs are not in PATH
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if isExecutable(p) {
			return p, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("peers: %s not found in %v or PATH: %w", name, dirs, ErrNotFound)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("peers: %s: %w", name, err)
	}
	return abs, nil
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. Another
// process may take it before the caller binds it; the Start functions retry
// with fresh ports when a peer reports its address in use.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("peers: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// freePorts returns n distinct free ports, all held open until every one is
// chosen so that the same port is not handed out twice.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("peers: find a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Require makes a test depend on the named peer programs (as Bin names them:
// "jupyterhub", "minio", "aws", "git", "configurable-http-proxy", ...). If one
// is missing the test is skipped, or fails when the environment variable CI is
// non-empty, so that CI cannot go green by skipping its integration tests.
func Require(t testing.TB, names ...string) {
	t.Helper()
	for _, name := range names {
		if _, err := Bin(name); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("peer %s is required under CI: %v", name, err)
				return
			}
			t.Skipf("peer %s not installed (run scripts/install-peers.sh): %v", name, err)
		}
	}
}
