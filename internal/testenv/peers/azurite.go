package peers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// The development account every Azurite serves. Its key is published in
// Azurite's README and Microsoft's documentation, so it is no secret.
const (
	AzuriteAccountName = "devstoreaccount1"
	AzuriteAccountKey  = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// AzuriteOptions configures StartAzurite.
type AzuriteOptions struct {
	// Dir holds the blob data (Dir/data) and the log (azurite.log).
	// Required; the caller owns it.
	Dir string
	// HTTPClient is used for readiness checks; nil means a client with a
	// 10s timeout.
	HTTPClient *http.Client
	// Logf receives progress lines; nil discards them.
	Logf func(format string, args ...any)
}

// Azurite is a running Azurite blob service (npm azurite, started as
// azurite-blob). It validates shared-key and service-SAS signatures, SAS
// permissions and expiry; it has no hierarchical namespace, so no
// directory SAS (sr=d). Its fields are fixed across Stop and Start.
// Methods are safe for concurrent use.
type Azurite struct {
	// BlobEndpoint is http://127.0.0.1:PORT/devstoreaccount1: the account
	// URL for path-style clients, and credserver's blob_endpoint.
	BlobEndpoint string
	// AccountName and AccountKey are the development account's
	// (AzuriteAccountName, AzuriteAccountKey).
	AccountName, AccountKey string
	// Dir is AzuriteOptions.Dir.
	Dir string

	client *http.Client
	logf   func(format string, args ...any)
	proc   *process

	mu     sync.Mutex
	closed bool
}

// StartAzurite starts the Azurite blob service on a free loopback port and
// returns once it answers HTTP. The caller must Close it. On failure
// nothing is left running and the error includes the tail of its log.
//
// Azurite runs with --skipApiVersionCheck (the Go SDK may speak a newer
// service version than the pinned Azurite knows), --loose (it ignores
// headers it does not implement instead of failing) and --silent: its
// access log would otherwise record every request URL, SAS signatures
// included.
func StartAzurite(ctx context.Context, o AzuriteOptions) (*Azurite, error) {
	if o.Dir == "" {
		return nil, errors.New("peers: AzuriteOptions.Dir is required")
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("peers: azurite dir: %w", err)
	}
	bin, err := Bin("azurite-blob")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		return nil, fmt.Errorf("peers: azurite dir: %w", err)
	}
	a := &Azurite{
		AccountName: AzuriteAccountName,
		AccountKey:  AzuriteAccountKey,
		Dir:         dir,
		client:      o.HTTPClient,
		logf:        o.Logf,
	}
	if a.client == nil {
		a.client = &http.Client{Timeout: 10 * time.Second}
	}
	if a.logf == nil {
		a.logf = func(string, ...any) {}
	}
	a.proc = &process{
		name: "azurite",
		path: bin,
		dir:  dir,
		// AZURITE_ACCOUNTS would replace the development account.
		env:     peerEnv([]string{"AZURITE_*"}),
		logPath: filepath.Join(dir, "azurite.log"),
	}
	for attempt := 1; ; attempt++ {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		a.BlobEndpoint = "http://127.0.0.1:" + strconv.Itoa(port) + "/" + AzuriteAccountName
		a.proc.args = []string{
			"--blobHost", "127.0.0.1",
			"--blobPort", strconv.Itoa(port),
			"--location", filepath.Join(dir, "data"),
			"--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry",
		}
		err = a.Start(ctx)
		if err == nil {
			return a, nil
		}
		if attempt < 3 && errors.Is(err, errExited) && a.proc.addrInUse() {
			a.logf("azurite: the port was taken, retrying with a new one")
			continue
		}
		return nil, err
	}
}

// Start starts a stopped Azurite again on the same port with the same data,
// and waits until it answers.
func (a *Azurite) Start(ctx context.Context) error {
	a.mu.Lock()
	closed := a.closed
	a.mu.Unlock()
	if closed {
		return errors.New("peers: azurite is closed")
	}
	// An unsigned request is refused (403), but any answer means the
	// service is listening and ready.
	answered := func(*http.Response) bool { return true }
	took, err := a.proc.launch(ctx, func(ctx context.Context) error {
		return a.proc.waitHTTP(ctx, a.client, a.BlobEndpoint+"?comp=list", answered)
	}, a.proc.stop)
	if err != nil {
		return err
	}
	a.logf("azurite: ready at %s after %s", a.BlobEndpoint, took)
	return nil
}

// Stop stops Azurite but keeps its data for Start. Stopping a stopped
// server is a no-op.
func (a *Azurite) Stop() error {
	return a.proc.stop()
}

// Close stops Azurite for good. It is idempotent; Dir is left for its owner.
func (a *Azurite) Close() error {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	return a.proc.stop()
}

// LogTail returns the last lines of Azurite's log.
func (a *Azurite) LogTail() string {
	return a.proc.logTail()
}
