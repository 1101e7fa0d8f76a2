package awssts

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	smithy "github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/credserver/credserver/internal/vend"
)

// upstreamName is vend.UpstreamError.Upstream for every error of this package.
const upstreamName = "sts"

var (
	// arnPattern matches AWS (arn:aws:…, arn:aws-us-gov:…) and MinIO
	// (arn:minio:…) ARNs up to the next space or quote.
	arnPattern = regexp.MustCompile(`arn:[A-Za-z0-9-]+:[^\s"'<>]*`)
	// accountPattern matches 12-digit account ids standing on their own.
	accountPattern = regexp.MustCompile(`\b\d{12}\b`)
)

// redact strips ARNs and account ids from an upstream message so it can be
// shown to a client without revealing the deployment's account layout.
func redact(msg string) string {
	msg = arnPattern.ReplaceAllString(msg, "<arn>")
	return accountPattern.ReplaceAllString(msg, "<account>")
}

// unknownCode is what the SDK reports when an error answer carried no STS
// error code, e.g. a proxy's HTML page.
const unknownCode = "UnknownError"

// mapError turns an AssumeRole failure into a *vend.UpstreamError. A caller
// that went away gets its context error back instead: STS did nothing wrong.
func mapError(ctx context.Context, err error) error {
	status := 0
	var respErr *smithyhttp.ResponseError
	if errors.As(err, &respErr) && respErr.Response != nil && respErr.Response.Response != nil {
		status = respErr.HTTPStatusCode()
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() != unknownCode {
		reason := redact(apiErr.ErrorMessage())
		if reason == "" {
			reason = "STS refused the request"
		}
		return &vend.UpstreamError{Upstream: upstreamName, Status: status, Code: apiErr.ErrorCode(), Reason: reason, Err: err}
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return fmt.Errorf("assume role: %w", err)
	}
	if status != 0 {
		return &vend.UpstreamError{Upstream: upstreamName, Status: status, Reason: fmt.Sprintf("STS answered HTTP %d", status), Err: err}
	}
	return &vend.UpstreamError{Upstream: upstreamName, Reason: "STS unreachable", Err: err}
}
