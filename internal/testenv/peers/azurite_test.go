package peers_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/credserver/credserver/internal/testenv/peers"
)

func azuriteClient(t *testing.T, endpoint, key string) *azblob.Client {
	t.Helper()
	cred, err := azblob.NewSharedKeyCredential(peers.AzuriteAccountName, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := azblob.NewClientWithSharedKeyCredential(endpoint, cred, &azblob.ClientOptions{
		ClientOptions: azcore.ClientOptions{
			Transport: &http.Client{Timeout: 10 * time.Second},
			Retry:     policy.RetryOptions{MaxRetries: -1},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAzurite(t *testing.T) {
	peers.Require(t, "azurite-blob")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	a, err := peers.StartAzurite(ctx, peers.AzuriteOptions{Dir: t.TempDir(), Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("azurite log:\n%s", a.LogTail())
		}
	})
	c := azuriteClient(t, a.BlobEndpoint, a.AccountKey)
	if _, err := c.CreateContainer(ctx, "scratch", nil); err != nil {
		t.Fatal(err)
	}
	body := []byte("hello from alice\n")
	if _, err := c.UploadBuffer(ctx, "scratch", "alice/hello.txt", body, nil); err != nil {
		t.Fatal(err)
	}
	download := func(c *azblob.Client) ([]byte, error) {
		resp, err := c.DownloadStream(ctx, "scratch", "alice/hello.txt", nil)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		return io.ReadAll(resp.Body)
	}

	t.Run("download with the account key", func(t *testing.T) {
		got, err := download(c)
		if err != nil || !bytes.Equal(got, body) {
			t.Errorf("download = %q, %v; want %q", got, err, body)
		}
	})

	t.Run("wrong key is refused", func(t *testing.T) {
		wrong := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 64))
		_, err := download(azuriteClient(t, a.BlobEndpoint, wrong))
		if !bloberror.HasCode(err, bloberror.AuthenticationFailed, bloberror.AuthorizationFailure) {
			t.Errorf("download with a wrong key: err = %v, want AuthenticationFailed", err)
		}
	})

	t.Run("stop and start keep the data", func(t *testing.T) {
		if err := a.Stop(); err != nil {
			t.Fatal(err)
		}
		if err := a.Start(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := download(c)
		if err != nil || !bytes.Equal(got, body) {
			t.Errorf("after restart: %q, %v; want %q", got, err, body)
		}
	})
}
