package server

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/go-chi/chi/v5/middleware"
)

// request is what the server keeps about one request, in one allocation:
// the context handlers see (the request id and the deadline) and the
// response writer that remembers the status for metrics. Most requests are
// answered from caches without ever waiting, so the deadline's timer is
// armed only when something waits on Done: a warm request costs no timer.
type request struct {
	parent   context.Context
	deadline time.Time
	// id is the request id (a process prefix and a sequence number),
	// formatted when first asked for.
	prefix string
	seq    uint64
	id     string

	mu     sync.Mutex
	armed  context.Context // a context.WithDeadline of parent, once armed
	cancel context.CancelFunc

	// The response writer part.
	w      http.ResponseWriter
	status int

	// caller is filled on routes delegation tokens may use.
	caller caller
}

var _ context.Context = (*request)(nil)

// Deadline implements context.Context.
func (c *request) Deadline() (time.Time, bool) { return c.deadline, true }

// Done implements context.Context; the first call arms the deadline.
func (c *request) Done() <-chan struct{} { return c.arm().Done() }

// Err implements context.Context without arming the deadline.
func (c *request) Err() error {
	c.mu.Lock()
	armed := c.armed
	c.mu.Unlock()
	if armed != nil {
		return armed.Err()
	}
	if err := c.parent.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// Value implements context.Context: the request id under chi's key, as
// chi's middleware.GetReqID reads it.
func (c *request) Value(key any) any {
	switch key {
	case requestKey{}:
		return c
	case middleware.RequestIDKey:
		return c.requestID()
	}
	return c.parent.Value(key)
}

// requestKey finds the *request in a context without boxing a string.
type requestKey struct{}

// stateOf returns the state of the request being served: the response
// writer itself, which instrument makes the *request (the credentials
// route's fast path does not copy the http.Request to put it in the
// context), or else the one in r's context; nil outside instrument.
func stateOf(w http.ResponseWriter, r *http.Request) *request {
	if rq, ok := w.(*request); ok {
		return rq
	}
	return stateIn(r)
}

// stateIn returns the *request in r's context, nil when there is none.
func stateIn(r *http.Request) *request {
	rq, _ := r.Context().Value(requestKey{}).(*request)
	return rq
}

// ctx is the context of the request: c itself, or r's when c is nil.
func (c *request) ctx(r *http.Request) context.Context {
	if c == nil {
		return r.Context()
	}
	return c
}

// callerRec is the request's caller record, nil outside a request.
func (c *request) callerRec() *caller {
	if c == nil {
		return nil
	}
	return &c.caller
}

// requestID returns the request id of ctx's request, "" outside one.
func requestID(ctx context.Context) string {
	if rq, ok := ctx.(*request); ok {
		return rq.requestID()
	}
	if rq, _ := ctx.Value(requestKey{}).(*request); rq != nil {
		return rq.requestID()
	}
	return middleware.GetReqID(ctx)
}

func (c *request) arm() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.armed == nil {
		c.armed, c.cancel = context.WithDeadline(c.parent, c.deadline)
	}
	return c.armed
}

// release stops the deadline's timer, if it was armed.
func (c *request) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancel != nil {
		c.cancel()
	}
}

func (c *request) requestID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.id == "" {
		c.id = c.prefix + strconv.FormatUint(c.seq, 10)
	}
	return c.id
}

func (c *request) String() string { return "credserver request " + c.requestID() }

// Header, Write and WriteHeader make request the response writer.
func (c *request) Header() http.Header { return c.w.Header() }

func (c *request) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
	c.w.WriteHeader(code)
}

func (c *request) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.w.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (c *request) Unwrap() http.ResponseWriter { return c.w }

// Status is the status written, 200 when the handler wrote none.
func (c *request) Status() int {
	if c.status == 0 {
		return http.StatusOK
	}
	return c.status
}
