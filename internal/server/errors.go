package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/credserver/credserver/internal/public"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/credserver/credserver/internal/auth"
	"github.com/credserver/credserver/internal/ghapp"
	"github.com/credserver/credserver/internal/policy"
	"github.com/credserver/credserver/internal/store"
	"github.com/credserver/credserver/internal/vend"
)

// statusClientClosed is nginx's status for a request its client abandoned.
const statusClientClosed = 499

// apiError is an error with everything a client may see. Msg is shown to the
// client; Err is only logged.
type apiError struct {
	Status     int
	Code       string
	Msg        string
	Err        error
	RetryAfter int // seconds; 0 = no Retry-After header
}

func (e *apiError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Msg, e.Err)
	}
	return e.Msg
}

func (e *apiError) Unwrap() error { return e.Err }

// errorBody is the contract's error shape: {"error": {"code", "message"}}.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// toAPIError maps any error from auth, policy or vend to what the client
// sees. It is the only place that knows both domain errors and HTTP.
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var reqErr *policy.RequestError
	var upErr *vend.UpstreamError
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large",
			Msg: fmt.Sprintf("request body exceeds %d bytes", tooLarge.Limit), Err: err}
	case errors.Is(err, auth.ErrNoToken):
		return &apiError{Status: http.StatusUnauthorized, Code: "missing_token",
			Msg: "send your JupyterHub token in the header 'Authorization: token <token>'", Err: err}
	case errors.Is(err, auth.ErrDelegationInvalid):
		return &apiError{Status: http.StatusUnauthorized, Code: "invalid_token",
			Msg: "this delegation token is not valid: it expired or was revoked, or its owner's hub account changed", Err: err}
	case errors.Is(err, auth.ErrInvalidToken):
		return &apiError{Status: http.StatusUnauthorized, Code: "invalid_token",
			Msg: "the hub did not accept this token; it may have expired or been revoked", Err: err}
	case errors.Is(err, auth.ErrNotForService):
		return &apiError{Status: http.StatusForbidden, Code: "token_not_for_credserver",
			Msg: public.Message(err, "this token was not issued for credserver"), Err: err}
	case errors.Is(err, auth.ErrForbidden):
		return &apiError{Status: http.StatusForbidden, Code: "forbidden", Msg: public.Message(err, "this token may not be used here"), Err: err}
	case errors.Is(err, auth.ErrHubUnavailable):
		return &apiError{Status: http.StatusServiceUnavailable, Code: "hub_unavailable",
			Msg: "the JupyterHub API is not answering; try again shortly", Err: err, RetryAfter: 5}
	case errors.Is(err, auth.ErrHubMisconfigured):
		return &apiError{Status: http.StatusBadGateway, Code: "hub_misconfigured",
			Msg: "the JupyterHub API answered unexpectedly; ask your hub admin to check hub.api_url", Err: err}
	case errors.Is(err, auth.ErrStoreUnavailable):
		return &apiError{Status: http.StatusServiceUnavailable, Code: "store_unavailable",
			Msg: "credserver's database is not answering; try again shortly", Err: err, RetryAfter: 5}
	case errors.Is(err, policy.ErrUnknownGrant):
		return &apiError{Status: http.StatusNotFound, Code: "unknown_grant",
			Msg: "no such grant; run 'credctl whoami' to list the grants you may use", Err: err}
	case errors.Is(err, policy.ErrNotAllowed):
		return &apiError{Status: http.StatusForbidden, Code: "not_allowed",
			Msg: "the hub policy does not give you this grant", Err: err}
	case errors.As(err, &reqErr):
		return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Msg: reqErr.Msg, Err: err}
	case errors.Is(err, vend.ErrPolicyTooLarge):
		return &apiError{Status: http.StatusBadRequest, Code: "policy_too_large",
			Msg: public.Message(err, "the credential this grant needs is too large for the upstream; ask your hub admin"), Err: err}
	case errors.Is(err, context.DeadlineExceeded):
		// The request's deadline passed while an upstream (STS, GitHub)
		// was still working; the hub's own timeouts are hub_unavailable.
		return &apiError{Status: http.StatusGatewayTimeout, Code: "upstream_timeout",
			Msg: "an upstream credential service did not answer in time; try again shortly", Err: err, RetryAfter: 5}
	case errors.Is(err, context.Canceled):
		// The client hung up; nobody reads this answer, but the logs and
		// metrics should not count it as a server fault.
		return &apiError{Status: statusClientClosed, Code: "client_closed_request", Msg: "the client closed the request", Err: err}
	case errors.Is(err, ghapp.ErrNotLinked):
		return &apiError{Status: http.StatusConflict, Code: "github_not_linked",
			Msg: "your hub account is not linked to GitHub (or the link expired); run 'credctl github login'", Err: err}
	case errors.Is(err, store.ErrUnavailable):
		return &apiError{Status: http.StatusServiceUnavailable, Code: "store_unavailable",
			Msg: "credserver's database is not answering; try again shortly", Err: err, RetryAfter: 2}
	case errors.Is(err, ghapp.ErrRateLimited):
		var rl *ghapp.RateLimitError
		wait := time.Second
		if errors.As(err, &rl) {
			wait = rl.Wait
		}
		return tooManyRequests("too many GitHub calls for your account; wait before trying again", wait)
	case errors.Is(err, ghapp.ErrLoginNotFound):
		return &apiError{Status: http.StatusNotFound, Code: "login_not_found",
			Msg: "no such GitHub login of yours; start one with 'credctl github login'", Err: err}
	case errors.As(err, &upErr):
		return &apiError{Status: http.StatusBadGateway, Code: "upstream_error",
			Msg: fmt.Sprintf("%s refused the request: %s", upErr.Upstream, upErr.Reason), Err: err}
	}
	return &apiError{Status: http.StatusInternalServerError, Code: "internal",
		Msg: "internal error; the server log has the details", Err: err}
}

// writeError writes the JSON error body for err and logs the full error.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	ae := toAPIError(err)
	level := slog.LevelInfo
	if ae.Status >= 500 {
		level = slog.LevelWarn
	}
	ctx := stateOf(w, r).ctx(r)
	log.LogAttrs(ctx, level, "request failed",
		slog.String("request_id", requestID(ctx)),
		slog.Int("status", ae.Status), slog.String("code", ae.Code),
		slog.String("error", errString(ae.Err)))
	if ae.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `token realm="credserver"`)
	}
	if ae.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ae.RetryAfter))
	}
	var body errorBody
	body.Error.Code = ae.Code
	body.Error.Message = ae.Msg
	writeJSON(w, ae.Status, body)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

var newline = []byte("\n")

// writeJSON writes v as the response body. Headers common to every response
// (Cache-Control: no-store) are set by middleware.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header()["Content-Type"] = headerJSON
	w.WriteHeader(status)
	if raw, ok := v.(json.RawMessage); ok {
		// Already encoded (cached credentials): write the bytes as they are.
		_, _ = w.Write(raw)
		_, _ = w.Write(newline)
		return
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
