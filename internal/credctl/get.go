package credctl

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Output formats of credctl get.
const (
	formatJSON    = "json"
	formatEnv     = "env"
	formatProcess = "credential-process"
)

func (c *CLI) get(ctx context.Context, g globals, args []string) error {
	fs := newFlagSet("get")
	var access, duration, format, server string
	fs.StringVar(&access, "access", "", "")
	fs.StringVar(&duration, "duration", "", "")
	fs.StringVar(&format, "format", formatJSON, "")
	fs.StringVar(&server, "server", "", "")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return c.flagError("get", err)
	}
	switch {
	case len(pos) == 0:
		return usagef("get: which grant? usage: credctl get GRANT [--format json|env|credential-process]")
	case len(pos) > 1:
		return usagef("get: one grant at a time, got %d arguments", len(pos))
	case pos[0] == "":
		return usagef("get: the grant name is empty")
	case access != "" && access != "read" && access != "readwrite":
		return usagef("get: --access must be read or readwrite, not %q", access)
	case duration != "" && !validDuration(duration):
		return usagef("get: --duration must be a Go duration such as 1h or 90m, or seconds, not %q", duration)
	case format != formatJSON && format != formatEnv && format != formatProcess:
		return usagef("get: --format must be json, env or credential-process, not %q", format)
	}
	grant := pos[0]
	cl, err := c.connect(g.pick(server))
	if err != nil {
		return err
	}
	body, err := cl.Credentials(ctx, grant, access, duration)
	if err != nil {
		return err
	}
	var out []byte
	switch format {
	case formatJSON:
		out, err = prettyJSON(body)
	case formatProcess:
		out, err = credentialProcess(grant, body)
	case formatEnv:
		out, err = envLines(grant, body)
	}
	if err != nil {
		return err
	}
	return c.print(string(out))
}

// validDuration mirrors the server's rule (Go duration or whole seconds,
// positive) so a typo is a usage error before any request is made.
func validDuration(s string) bool {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n > 0
	}
	d, err := time.ParseDuration(s)
	return err == nil && d > 0
}

func prettyJSON(body []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.Indent(&buf, body, "", "  "); err != nil {
		return nil, fmt.Errorf("the server's answer is not valid JSON: %w", err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// credentialBody is the part of every credential answer credctl reads,
// with the aws fields; other providers' fields are ignored.
type credentialBody struct {
	Grant     string `json:"grant"`
	Provider  string `json:"provider"`
	ExpiresAt string `json:"expires_at"`
	URL       string `json:"url"`
	// The aws provider's fields.
	Credentials *struct {
		AccessKeyID     string `json:"access_key_id"`
		SecretAccessKey string `json:"secret_access_key"`
		SessionToken    string `json:"session_token"`
		Expiration      string `json:"expiration"`
	} `json:"credentials"`
	Bucket      string `json:"bucket"`
	Prefix      string `json:"prefix"`
	Region      string `json:"region"`
	EndpointURL string `json:"endpoint_url"`
}

// decodeCredentials parses a credential answer. When wantAWS is set, a
// non-aws grant is a usage error (the format cannot express it) and an aws
// answer must carry a complete key.
func decodeCredentials(grant string, body []byte, wantAWS bool) (*credentialBody, error) {
	var cb credentialBody
	// Unmarshal fills what it can: another provider's "credentials" of a
	// different type must not hide its provider name.
	err := json.Unmarshal(body, &cb)
	switch {
	case err != nil && cb.Provider == "":
		return nil, fmt.Errorf("the server's answer for grant %q is not a credential response: %v", grant, err)
	case !wantAWS:
		return &cb, nil
	case cb.Provider != "aws":
		return nil, usagef("grant %q is a %q grant, not aws; use --format json", grant, oneLine(cb.Provider))
	case err != nil:
		return nil, fmt.Errorf("the server's answer for aws grant %q is malformed: %v", grant, err)
	}
	cr := cb.Credentials
	if cr == nil || cr.AccessKeyID == "" || cr.SecretAccessKey == "" {
		return nil, fmt.Errorf("the server's answer for grant %q has no AWS access key", grant)
	}
	return &cb, nil
}

// expiry is the answer's expiry in RFC 3339 UTC, preferring the key's own
// expiration. Fractional seconds are dropped, which only makes it earlier.
func (cb *credentialBody) expiry(grant string) (string, error) {
	raw := cb.ExpiresAt
	if cb.Credentials != nil && cb.Credentials.Expiration != "" {
		raw = cb.Credentials.Expiration
	}
	if raw == "" {
		return "", fmt.Errorf("the server's answer for grant %q has no expiry", grant)
	}
	t, err := time.Parse(time.RFC3339, raw)
	if err != nil {
		return "", fmt.Errorf("the server's answer for grant %q has an unreadable expiry %q", grant, oneLine(raw))
	}
	return t.UTC().Format(time.RFC3339), nil
}

// processCredentials is botocore's credential_process output, version 1.
// Expiration is always set: without it botocore would never refresh.
type processCredentials struct {
	Version         int    `json:"Version"`
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	SessionToken    string `json:"SessionToken,omitempty"`
	Expiration      string `json:"Expiration"`
}

func credentialProcess(grant string, body []byte) ([]byte, error) {
	cb, err := decodeCredentials(grant, body, true)
	if err != nil {
		return nil, err
	}
	exp, err := cb.expiry(grant)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	err = enc.Encode(processCredentials{
		Version:         1,
		AccessKeyID:     cb.Credentials.AccessKeyID,
		SecretAccessKey: cb.Credentials.SecretAccessKey,
		SessionToken:    cb.Credentials.SessionToken,
		Expiration:      exp,
	})
	if err != nil {
		return nil, fmt.Errorf("encoding credential_process output: %w", err)
	}
	return buf.Bytes(), nil
}
