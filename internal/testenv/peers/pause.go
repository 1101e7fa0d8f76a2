package peers

import (
	"fmt"
	"syscall"
)

// signalGroup sends sig to the process's whole group (the peer and any
// children it started, such as the hub's proxy).
func (p *process) signalGroup(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return fmt.Errorf("peers: %s is not running", p.name)
	}
	if err := syscall.Kill(-p.cmd.Process.Pid, sig); err != nil {
		return fmt.Errorf("peers: signal %s: %w", p.name, err)
	}
	return nil
}

// Pause freezes the hub (SIGSTOP): its port still accepts connections but
// nothing answers, which is what a hung upstream looks like to a client.
// Resume undoes it; Stop and Close also work on a paused hub.
func (h *Hub) Pause() error { return h.proc.signalGroup(syscall.SIGSTOP) }

// Resume lets a paused hub run again.
func (h *Hub) Resume() error { return h.proc.signalGroup(syscall.SIGCONT) }

// Pause freezes MinIO (SIGSTOP); see Hub.Pause.
func (m *MinIO) Pause() error { return m.proc.signalGroup(syscall.SIGSTOP) }

// Resume lets a paused MinIO run again.
func (m *MinIO) Resume() error { return m.proc.signalGroup(syscall.SIGCONT) }
