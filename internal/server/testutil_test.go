package server

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"sync"
)

// lockedBuffer is a bytes.Buffer safe for the concurrent writes of a server.
type lockedBuffer struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func newTestLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(&lockedBuffer{b: w.(*bytes.Buffer)}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func errorsJoin(errs ...error) error { return errors.Join(errs...) }

// failingWriter is an audit writer whose every write fails, like a full disk.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }
