package peers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	// stopGrace is how long a peer gets to exit after SIGTERM before its
	// whole process group is killed.
	stopGrace = 10 * time.Second
	// startTimeout bounds a start when the caller's context has no deadline;
	// a cold JupyterHub takes about 4s, more on a busy 2-core machine.
	startTimeout = 90 * time.Second
	logTailBytes = 8 << 10
	logTailLines = 40
)

// errExited reports that a peer process ended while it was being waited for.
var errExited = errors.New("peer process exited")

// process is one long-running peer program in its own process group, with
// stdout and stderr appended to a log file. It can be started again after it
// stops. Methods are safe for concurrent use.
type process struct {
	name    string
	path    string
	args    []string
	dir     string
	env     []string
	logPath string
	// secrets are replaced in log tails, in case a peer echoes one.
	secrets []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has been waited for
	log  *os.File
}

// launch starts the program and waits until ready succeeds, within ctx's
// deadline (startTimeout when ctx has none). A program that cannot start or
// never becomes ready is stopped again with stop, and the error carries its
// log tail. It returns how long the start took.
func (p *process) launch(ctx context.Context, ready func(context.Context) error, stop func() error) (time.Duration, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, startTimeout)
		defer cancel()
	}
	begin := time.Now()
	if err := p.start(); err != nil {
		return 0, err
	}
	if err := ready(ctx); err != nil {
		err = p.startError(err)
		_ = stop()
		return 0, err
	}
	return time.Since(begin).Round(time.Millisecond), nil
}

// start launches the program; it does not wait for it to be ready.
func (p *process) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("peers: %s already running", p.name)
	}
	f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("peers: %s log: %w", p.name, err)
	}
	cmd := exec.Command(p.path, p.args...)
	cmd.Dir = p.dir
	cmd.Env = p.env
	cmd.Stdout = f
	cmd.Stderr = f
	// A group of its own lets stop reach the peer's children (the hub's
	// configurable-http-proxy). SIGTERM on our death lets the hub take its
	// proxy down with it if the test binary is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("peers: start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait() // the exit status is of no use: every stop is a kill
		close(done)
	}()
	p.cmd, p.done, p.log = cmd, done, f
	return nil
}

// exited returns a channel closed once the current process has ended, or nil
// when none was started.
func (p *process) exited() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// stop ends the process group: SIGTERM, then SIGKILL after stopGrace, then
// SIGKILL again for any child that outlived the leader. Stopping a stopped
// process is a no-op.
func (p *process) stop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return nil
	}
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	// A paused peer (see Pause) only acts on SIGTERM once continued.
	_ = syscall.Kill(-pgid, syscall.SIGCONT)
	select {
	case <-p.done:
	case <-time.After(stopGrace):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
	// Children left in the group would hold the peer's ports across a restart.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		if syscall.Kill(-pgid, 0) != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	err := p.log.Close()
	p.cmd, p.done, p.log = nil, nil, nil
	if err != nil {
		return fmt.Errorf("peers: %s log: %w", p.name, err)
	}
	return nil
}

// logTail returns the last lines of the log, secrets redacted.
func (p *process) logTail() string {
	f, err := os.Open(p.logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > logTailBytes {
		if _, err := f.Seek(-logTailBytes, io.SeekEnd); err != nil {
			return ""
		}
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return ""
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > logTailLines {
		lines = lines[len(lines)-logTailLines:]
	}
	s := string(bytes.Join(lines, []byte("\n")))
	for _, secret := range p.secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}

// startError wraps err with the log tail, which is what explains a failed
// start.
func (p *process) startError(err error) error {
	return fmt.Errorf("%w\n--- last lines of %s ---\n%s", err, p.logPath, p.logTail())
}

// addrInUse reports whether the last start failed because a port chosen by
// FreePort was taken in the meantime.
func (p *process) addrInUse() bool {
	tail := strings.ToLower(p.logTail())
	return strings.Contains(tail, "address already in use") || strings.Contains(tail, "eaddrinuse")
}

// waitHTTP polls url with GET until ready accepts the answer, the process
// exits, or ctx ends.
func (p *process) waitHTTP(ctx context.Context, client *http.Client, url string, ready func(*http.Response) bool) error {
	exited := p.exited()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("peers: %s readiness request: %w", p.name, err)
		}
		resp, err := client.Do(req)
		if err == nil {
			ok := ready(resp)
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			if ok {
				return nil
			}
			last = fmt.Errorf("GET %s: %s", url, resp.Status)
		} else {
			last = err
		}
		select {
		case <-exited:
			return fmt.Errorf("peers: %s: %w before it was ready", p.name, errExited)
		case <-ctx.Done():
			return fmt.Errorf("peers: %s not ready (last: %v): %w", p.name, last, ctx.Err())
		case <-tick.C:
		}
	}
}

// peerEnv is the environment for a peer: ours, minus variables that would
// point it at another installation, plus extra.
func peerEnv(drop []string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		keep := true
		for _, d := range drop {
			if name == d || (strings.HasSuffix(d, "*") && strings.HasPrefix(name, strings.TrimSuffix(d, "*"))) {
				keep = false
				break
			}
		}
		if keep {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}
