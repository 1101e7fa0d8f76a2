package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/credserver/credserver/internal/vend"
)

// upstreamName is vend.UpstreamError.Upstream for every error of this
// package.
const upstreamName = "azure"

// ensureContainer creates container with the account key unless this
// process already has (or found it existing). Two callers racing both try;
// the loser's ContainerAlreadyExists counts as success.
func (p *Provider) ensureContainer(ctx context.Context, container string) error {
	if _, ok := p.created.Load(container); ok {
		return nil
	}
	_, err := p.client.CreateContainer(ctx, container, nil)
	if err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		return createError(ctx, container, err)
	}
	p.created.Store(container, struct{}{})
	return nil
}

// createError maps a failed container creation. Azure's message carries
// a request id and time but nothing secret; the client is told the code
// only, the log gets the rest through Err.
func createError(ctx context.Context, container string, err error) error {
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return fmt.Errorf("azure: create container %q: %w", container, err)
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		reason := fmt.Sprintf("could not create container %q", container)
		switch {
		case re.ErrorCode != "":
			reason += " (" + re.ErrorCode + ")"
		case re.StatusCode != 0:
			reason += fmt.Sprintf(" (HTTP %d %s)", re.StatusCode, http.StatusText(re.StatusCode))
		}
		return &vend.UpstreamError{Upstream: upstreamName, Status: re.StatusCode, Code: re.ErrorCode, Reason: reason, Err: err}
	}
	return &vend.UpstreamError{Upstream: upstreamName, Reason: "Azure Blob Storage unreachable", Err: err}
}
