package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/go-chi/chi/v5"
)

// maxBodyBytes bounds request bodies; no endpoint needs more.
const maxBodyBytes = 64 << 10

// noStore marks every response, errors included, as not cacheable: bodies
// carry credentials.
var (
	headerNoStore = []string{"no-store"}
	headerJSON    = []string{"application/json"}
)

func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The shared value slices below are never appended to (headers
		// are only ever Set), so one per process serves every response.
		w.Header()["Cache-Control"] = headerNoStore
		next.ServeHTTP(w, r)
	})
}

// limitBody answers 413 for bodies declared larger than limit and caps the
// rest while they are read (a handler reading past the cap gets an
// *http.MaxBytesError, which toAPIError maps to the same 413).
func (s *Server) limitBody(limit int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > limit {
				writeError(w, r, s.log, &http.MaxBytesError{Limit: limit})
				return
			}
			if r.Body != nil && r.Body != http.NoBody {
				r.Body = http.MaxBytesReader(w, r.Body, limit)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// begin is the outermost middleware. It gives each request, in one
// allocation (see request), its request id (for the logs and the audit
// trail; generated here, never taken from the client, so audit ids cannot
// be forged), its deadline (auth and vend stop waiting on upstreams when it
// passes, so a hung hub or STS cannot hold a client), and a response writer
// that remembers the status. When the handler is done it records the
// route, status and latency in the metrics and, at debug level, in the
// log. The route is read after the handler ran, when chi has matched it;
// unmatched paths share one label so scanners cannot grow the label set.
// The log line has the path pattern only: a query string may hold a token a
// client put there by mistake.
func (s *Server) begin(next http.Handler) http.Handler { return s.instrument("", next) }

// instrument is begin for a handler whose route pattern is known in
// advance (route), or read from chi afterwards ("").
func (s *Server) instrument(route string, next http.Handler) http.Handler {
	rm := s.metrics.forRoute(route) // nil for "" and without metrics
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rq := &request{parent: r.Context(), deadline: start.Add(s.timeout), prefix: s.reqPrefix, seq: s.reqSeq.Add(1), w: w}
		defer rq.release()
		if route == "" {
			// chi's routes read the state from the context. The
			// credentials route's fast path (dispatch) reads it from the
			// writer instead (stateOf), and saves copying the request.
			r = r.WithContext(rq)
		}
		next.ServeHTTP(rq, r)
		debug := s.log.Enabled(rq, slog.LevelDebug)
		if s.metrics == nil && !debug {
			return
		}
		route := route
		if route == "" {
			if rctx := chi.RouteContext(r.Context()); rctx != nil {
				route = rctx.RoutePattern()
			}
			if route == "" {
				route = "unmatched"
			}
		}
		status, elapsed := rq.Status(), time.Since(start)
		if rm != nil {
			rm.observe(status, elapsed)
		} else {
			s.metrics.observe(route, status, elapsed)
		}
		if debug {
			s.log.LogAttrs(rq, slog.LevelDebug, "request",
				slog.String("request_id", rq.requestID()),
				slog.String("method", r.Method), slog.String("route", route),
				slog.Int("status", status), slog.Duration("duration", elapsed))
		}
	})
}

// recoverer turns a panic into a 500 with the JSON body and logs the stack.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic serving request", "request_id", requestID(stateOf(w, r).ctx(r)),
					"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				writeError(w, r, s.log, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}
