package peers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// HubOptions configures StartHub.
type HubOptions struct {
	// Dir holds the hub's config, database, cookie secret, pid files and log
	// (jupyterhub.log). Required; the caller owns it (t.TempDir() in tests).
	Dir string
	// ExtraConfig is Python appended to jupyterhub_config.py, after
	// everything this package sets, so it may override any of it.
	ExtraConfig string
	// BareRoles leaves the hub's user and server roles as JupyterHub 3
	// defines them. Otherwise they also carry CredserverAccessScope, as on a
	// hub configured with deploy/jupyterhub's snippet, so user tokens are
	// accepted by a credserver with its default settings. Tests of the
	// snippet itself set BareRoles and let the snippet add the scope.
	BareRoles bool
	// Proxy starts the real configurable-http-proxy in front of the hub.
	// Without it the hub runs with a no-op proxy: the hub API works, user
	// servers are unreachable, and nothing else listens.
	Proxy bool
	// HTTPClient is used for readiness checks and the admin API calls; nil
	// means a client with a 10s timeout.
	HTTPClient *http.Client
	// Logf receives progress lines (never secrets); nil discards them.
	Logf func(format string, args ...any)
}

// Hub is a running JupyterHub 3. Its fields are fixed for the hub's lifetime,
// across Stop and Start. Methods are safe for concurrent use.
type Hub struct {
	// URL is the public URL: the proxy's with Proxy, else the hub's own
	// (http://127.0.0.1:HUBPORT). No trailing slash.
	URL string
	// APIURL is the hub's REST API, http://127.0.0.1:HUBPORT/hub/api, the
	// value for credserver's hub.api_url. No trailing slash.
	APIURL string
	// AdminToken is the api_token of the service "test-admin", whose role has
	// the admin:users, admin:groups and tokens scopes.
	AdminToken string
	// ServiceAPIToken is the api_token of the service "test-service", which
	// has no role: /hub/api/user answers for it with kind "service".
	ServiceAPIToken string
	// Dir is HubOptions.Dir.
	Dir string

	client     *http.Client
	logf       func(format string, args ...any)
	proc       *process
	proxy      bool
	configPath string

	mu     sync.Mutex
	closed bool
}

// StartHub writes a config into o.Dir and starts JupyterHub on free loopback
// ports, returning once its API answers (about 4s cold). The caller must Close
// the hub. On failure nothing is left running and the error includes the tail
// of the hub's log.
func StartHub(ctx context.Context, o HubOptions) (*Hub, error) {
	if o.Dir == "" {
		return nil, errors.New("peers: HubOptions.Dir is required")
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("peers: hub dir: %w", err)
	}
	bin, err := Bin("jupyterhub")
	if err != nil {
		return nil, err
	}
	h := &Hub{
		Dir:             dir,
		AdminToken:      randomHex(32),
		ServiceAPIToken: randomHex(32),
		client:          o.HTTPClient,
		logf:            o.Logf,
		proxy:           o.Proxy,
		configPath:      filepath.Join(dir, "jupyterhub_config.py"),
	}
	if h.client == nil {
		h.client = &http.Client{Timeout: 10 * time.Second}
	}
	if h.logf == nil {
		h.logf = func(string, ...any) {}
	}
	cfg := hubConfig{
		Dir:          dir,
		AdminToken:   h.AdminToken,
		ServiceToken: h.ServiceAPIToken,
		BareRoles:    o.BareRoles,
		Extra:        o.ExtraConfig,
	}
	var env []string
	if o.Proxy {
		if cfg.ProxyCommand, err = Bin("configurable-http-proxy"); err != nil {
			return nil, err
		}
		cfg.ProxyToken = randomHex(32)
		env = append(env, "NODE_PATH=/usr/share/nodejs", "CONFIGPROXY_AUTH_TOKEN="+cfg.ProxyToken)
	}
	h.proc = &process{
		name:    "jupyterhub",
		path:    bin,
		args:    []string{"-f", h.configPath},
		dir:     dir,
		env:     peerEnv([]string{"PYTHONPATH", "PYTHONHOME", "JUPYTERHUB_*", "CONFIGPROXY_AUTH_TOKEN", "NODE_PATH"}, env...),
		logPath: filepath.Join(dir, "jupyterhub.log"),
		secrets: []string{h.AdminToken, h.ServiceAPIToken, cfg.ProxyToken},
	}

	for attempt := 1; ; attempt++ {
		ports, err := freePorts(3)
		if err != nil {
			return nil, err
		}
		cfg.HubPort, cfg.PublicPort, cfg.ProxyAPIPort = ports[0], ports[1], ports[2]
		if err := os.WriteFile(h.configPath, cfg.render(), 0o600); err != nil {
			return nil, fmt.Errorf("peers: write hub config: %w", err)
		}
		h.APIURL = "http://127.0.0.1:" + strconv.Itoa(cfg.HubPort) + "/hub/api"
		h.URL = "http://127.0.0.1:" + strconv.Itoa(cfg.HubPort)
		if o.Proxy {
			h.URL = "http://127.0.0.1:" + strconv.Itoa(cfg.PublicPort)
		}
		err = h.Start(ctx)
		if err == nil {
			return h, nil
		}
		if attempt < 3 && errors.Is(err, errExited) && h.proc.addrInUse() {
			h.logf("jupyterhub: a port was taken, retrying with new ports")
			continue
		}
		return nil, err
	}
}

// Start starts a stopped hub again with the same ports, tokens and database,
// and waits until its API (and proxy, if any) answers.
func (h *Hub) Start(ctx context.Context) error {
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return errors.New("peers: hub is closed")
	}
	// GET /hub/api answers {"version": ...} without a token once the hub
	// has loaded its database, services and roles.
	ok := func(r *http.Response) bool { return r.StatusCode == http.StatusOK }
	took, err := h.proc.launch(ctx, func(ctx context.Context) error {
		if err := h.proc.waitHTTP(ctx, h.client, h.APIURL+"/", ok); err != nil || !h.proxy {
			return err
		}
		return h.proc.waitHTTP(ctx, h.client, h.URL+"/hub/api/", ok)
	}, h.proc.stop)
	if err != nil {
		return err
	}
	h.logf("jupyterhub: ready at %s after %s", h.URL, took)
	return nil
}

// Stop stops the hub (and its proxy) but keeps its state for Start. Stopping a
// stopped hub is a no-op.
func (h *Hub) Stop() error {
	return h.proc.stop()
}

// Close stops the hub for good. It is idempotent; Dir is left for its owner.
func (h *Hub) Close() error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	return h.proc.stop()
}

// LogTail returns the last lines of the hub's log (including the proxy's),
// with this hub's tokens redacted, for test failure messages.
func (h *Hub) LogTail() string {
	return h.proc.logTail()
}

// randomHex returns n random bytes, hex-encoded.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b)
}
