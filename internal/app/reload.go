package app

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"sync"
	"time"

	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/policy"
	"github.com/credserver/credserver/internal/server"
)

// Reloader re-reads the config file and swaps the compiled policy into a
// running server. A file that does not load, validate and compile is
// rejected and the policy in service is kept. Only the grants change at
// runtime: listeners, the hub and the providers need a restart, and a
// reload that changes them is refused, so what runs always matches one
// whole, valid file.
type Reloader struct {
	path    string
	srv     *server.Server
	metrics *server.Metrics
	log     *slog.Logger

	mu      sync.Mutex
	current *config.Config
	// seen is the hash of the file content last examined, valid or not, so
	// a file that stays invalid is reported once, not at every poll.
	seen [32]byte
}

// NewReloader watches path for srv, whose server was built from cfg.
func NewReloader(path string, cfg *config.Config, srv *server.Server, m *server.Metrics, log *slog.Logger) *Reloader {
	r := &Reloader{path: path, srv: srv, metrics: m, log: log, current: cfg}
	if data, err := os.ReadFile(path); err == nil {
		r.seen = sha256.Sum256(data)
	}
	return r
}

// ErrRestartNeeded reports a reload that changes settings other than the
// grants.
var ErrRestartNeeded = errors.New("only grants can change without a restart")

// Reload reads the file now and applies it if it is valid. It reports
// whether a new policy went into service.
func (r *Reloader) Reload() (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	changed, err := r.reloadLocked()
	if err != nil {
		r.metrics.Reloaded(err)
		r.log.Error("config reload rejected; the previous policy stays in service", "path", r.path, "error", err.Error())
		return false, err
	}
	if changed {
		r.metrics.Reloaded(nil)
		r.log.Info("config reloaded", "path", r.path, "grants", len(r.current.Grants))
	}
	return changed, nil
}

func (r *Reloader) reloadLocked() (bool, error) {
	data, err := os.ReadFile(r.path)
	if err != nil {
		r.seen = unreadable
		return false, fmt.Errorf("read config: %w", err)
	}
	r.seen = sha256.Sum256(data)
	cfg, err := config.Parse(data)
	if err != nil {
		return false, err
	}
	if err := sameRuntime(r.current, cfg); err != nil {
		return false, err
	}
	pol, err := policy.Compile(cfg)
	if err != nil {
		return false, fmt.Errorf("compile policy: %w", err)
	}
	r.srv.SetPolicy(pol)
	r.current = cfg
	return true, nil
}

// sameRuntime refuses changes a running server cannot take.
func sameRuntime(old, cfg *config.Config) error {
	switch {
	case old.Listen != cfg.Listen, old.BasePath != cfg.BasePath, old.MetricsListen != cfg.MetricsListen:
		return fmt.Errorf("%w: listen, base_path or metrics_listen changed", ErrRestartNeeded)
	case old.RequestTimeout != cfg.RequestTimeout, old.AuditLog != cfg.AuditLog, old.Limits != cfg.Limits:
		return fmt.Errorf("%w: request_timeout, audit_log or limits changed", ErrRestartNeeded)
	case !reflect.DeepEqual(old.Hub, cfg.Hub):
		return fmt.Errorf("%w: hub changed", ErrRestartNeeded)
	case !reflect.DeepEqual(old.Store, cfg.Store):
		return fmt.Errorf("%w: store changed", ErrRestartNeeded)
	case !reflect.DeepEqual(providersWithoutLines(old), providersWithoutLines(cfg)):
		return fmt.Errorf("%w: providers changed", ErrRestartNeeded)
	}
	return nil
}

func providersWithoutLines(c *config.Config) map[string]config.Provider {
	out := make(map[string]config.Provider, len(c.Providers))
	for k, p := range c.Providers {
		p.Line = 0
		out[k] = p
	}
	return out
}

// Watch reloads on every signal from hup (SIGHUP) and whenever the file's
// content changes, checked every interval (polling also sees Kubernetes'
// ConfigMap symlink swaps). It returns when ctx is done.
func (r *Reloader) Watch(ctx context.Context, interval time.Duration, hup <-chan os.Signal) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			_, _ = r.Reload()
		case <-t.C:
			if r.fileChanged() {
				_, _ = r.Reload()
			}
		}
	}
}

// unreadable stands for "the file could not be read" among content hashes.
var unreadable = sha256.Sum256([]byte("\x00unreadable config file"))

// fileChanged reports whether the file's content differs from what was
// last examined; a file that stays unreadable is reported once.
func (r *Reloader) fileChanged() bool {
	sum := unreadable
	if data, err := os.ReadFile(r.path); err == nil {
		sum = sha256.Sum256(data)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return sum != r.seen
}
