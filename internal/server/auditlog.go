package server

import (
	"errors"
	"fmt"
	"os"
	"sync"
)

// AuditLog is the audit_log file. Every Write reaches the file before it
// returns (no buffering: a credential is handed out only after its line is
// written), and Reopen lets log rotation rename the file away and have
// the next line start a new one. It is safe for concurrent use.
type AuditLog struct {
	path string
	mu   sync.Mutex
	f    *os.File
}

// OpenAuditLog opens path for appending, creating it (mode 0600) if needed.
func OpenAuditLog(path string) (*AuditLog, error) {
	f, err := openAppend(path)
	if err != nil {
		return nil, err
	}
	return &AuditLog{path: path, f: f}, nil
}

func openAppend(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit_log: %w", err)
	}
	return f, nil
}

// Write appends p. A short write is an error.
func (l *AuditLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return 0, errors.New("audit_log: closed")
	}
	return l.f.Write(p)
}

// Reopen opens the file at the path again, for log rotation (SIGHUP).
// When that fails the old file stays in use, and the error says why.
func (l *AuditLog) Reopen() error {
	f, err := openAppend(l.path)
	if err != nil {
		return err
	}
	l.mu.Lock()
	old := l.f
	l.f = f
	l.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
	return nil
}

// Close closes the file; later writes fail.
func (l *AuditLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
