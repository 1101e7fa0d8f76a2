package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// maxBodyBytes bounds request bodies; no endpoint needs more.
const maxBodyBytes = 64 << 10

// noStore marks every response, errors included, as not cacheable: bodies
// carry credentials.
func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
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

// observe records each request's route, status and latency in the metrics
// and, at debug level, in the log, wrapping the response writer once for
// both. The route is read after the handler ran, when chi has matched it;
// unmatched paths share one label so scanners cannot grow the label set.
// The log line has the path pattern only: a query string may hold a token a
// client put there by mistake.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		debug := s.log.Enabled(r.Context(), slog.LevelDebug)
		if s.metrics == nil && !debug {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		route := chi.RouteContext(r.Context()).RoutePattern()
		if route == "" {
			route = "unmatched"
		}
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK
		}
		elapsed := time.Since(start)
		s.metrics.observe(route, status, elapsed)
		if debug {
			s.log.LogAttrs(r.Context(), slog.LevelDebug, "request",
				slog.String("request_id", middleware.GetReqID(r.Context())),
				slog.String("method", r.Method), slog.String("route", route),
				slog.Int("status", status), slog.Duration("duration", elapsed))
		}
	})
}

// requestContext gives each request, in one derived context, its request id
// (for the logs and the audit trail; generated here, never taken from the
// client, so audit ids cannot be forged) and its deadline: auth and vend
// stop waiting on upstreams when it passes, so a hung hub or STS cannot
// hold a client.
func (s *Server) requestContext(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := s.reqPrefix + strconv.FormatUint(s.reqSeq.Add(1), 10)
		ctx, cancel := context.WithTimeout(context.WithValue(r.Context(), middleware.RequestIDKey, id), s.timeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
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
				s.log.Error("panic serving request", "request_id", middleware.GetReqID(r.Context()),
					"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				writeError(w, r, s.log, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}
