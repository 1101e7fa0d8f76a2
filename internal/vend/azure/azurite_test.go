package azure

import (
	"context"
	"errors"
	"github.com/credserver/credserver/internal/policy"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azpolicy "github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/credserver/credserver/internal/testenv/peers"
	"github.com/credserver/credserver/internal/vend"
)

// Against a real Azurite: it checks service-SAS signatures, permissions,
// scope and expiry as Azure does (it has no hierarchical namespace, so
// directory SAS is covered by TestIssueSignsDocumentedSAS instead).

func startAzurite(t *testing.T) *peers.Azurite {
	t.Helper()
	peers.Require(t, "azurite-blob")
	a, err := peers.StartAzurite(t.Context(), peers.AzuriteOptions{Dir: t.TempDir(), Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("azurite log:\n%s", a.LogTail())
		}
		_ = a.Close()
	})
	return a
}

func clientOptions() *azblob.ClientOptions {
	return &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: &http.Client{Timeout: 10 * time.Second},
		Retry:     azpolicy.RetryOptions{MaxRetries: -1},
	}}
}

// sasClient uses nothing but what a notebook user receives.
func sasClient(t *testing.T, cred *vend.Credentials) *azblob.Client {
	t.Helper()
	b := cred.Body.(*Body)
	c, err := azblob.NewClientWithNoCredential(b.AccountURL+"?"+b.SASToken, clientOptions())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func upload(ctx context.Context, c *azblob.Client, container, name, data string) error {
	_, err := c.UploadBuffer(ctx, container, name, []byte(data), nil)
	return err
}

func download(ctx context.Context, c *azblob.Client, container, name string) (string, error) {
	resp, err := c.DownloadStream(ctx, container, name, nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func list(ctx context.Context, c *azblob.Client, container string) ([]string, error) {
	var names []string
	pager := c.NewListBlobsFlatPager(container, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, item := range page.Segment.BlobItems {
			names = append(names, *item.Name)
		}
	}
	return names, nil
}

func wantDenied(t *testing.T, what string, err error) {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusForbidden {
		t.Errorf("%s: err = %v, want 403 from Azurite", what, err)
		return
	}
	t.Logf("%s: %d %s", what, re.StatusCode, re.ErrorCode)
}

func TestAzurite(t *testing.T) {
	a := startAzurite(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	keyFile := writeKey(t, a.AccountKey)
	newProvider := func(now func() time.Time) *Provider {
		p, err := New(Config{AccountName: a.AccountName, AccountKeyFile: keyFile, BlobEndpoint: a.BlobEndpoint, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := newProvider(nil)
	admin := func() *azblob.Client {
		cred, err := azblob.NewSharedKeyCredential(a.AccountName, a.AccountKey)
		if err != nil {
			t.Fatal(err)
		}
		c, err := azblob.NewClientWithSharedKeyCredential(a.BlobEndpoint, cred, clientOptions())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}()
	// Bob's container, with something alice must not see.
	if _, err := admin.CreateContainer(ctx, "scratch-bob", nil); err != nil {
		t.Fatal(err)
	}
	if err := upload(ctx, admin, "scratch-bob", "secret.txt", "bob's"); err != nil {
		t.Fatal(err)
	}
	issue := func(t *testing.T, p *Provider, access policy.Access) *vend.Credentials {
		t.Helper()
		cred, err := p.Issue(ctx, policy.Decision{User: "alice", Grant: "blob-scratch", Access: access, Duration: time.Hour,
			Bucket: "scratch-alice", Prefixes: []string{""}, Create: true, Location: "abfs://scratch-alice/"})
		if err != nil {
			t.Fatal(err)
		}
		return cred
	}
	rw := sasClient(t, issue(t, p, policy.AccessReadWrite))

	t.Run("readwrite inside the container", func(t *testing.T) {
		if err := upload(ctx, rw, "scratch-alice", "notes/today.txt", "hello"); err != nil {
			t.Fatalf("upload: %v", err)
		}
		if got, err := download(ctx, rw, "scratch-alice", "notes/today.txt"); err != nil || got != "hello" {
			t.Errorf("download = %q, %v; want hello", got, err)
		}
		names, err := list(ctx, rw, "scratch-alice")
		if err != nil || strings.Join(names, ",") != "notes/today.txt" {
			t.Errorf("list = %v, %v; want [notes/today.txt]", names, err)
		}
		if _, err := rw.DeleteBlob(ctx, "scratch-alice", "notes/today.txt", nil); err != nil {
			t.Errorf("delete: %v", err)
		}
	})

	t.Run("another container is denied", func(t *testing.T) {
		_, err := download(ctx, rw, "scratch-bob", "secret.txt")
		wantDenied(t, "download from bob's container", err)
		wantDenied(t, "upload to bob's container", upload(ctx, rw, "scratch-bob", "x.txt", "x"))
		_, err = list(ctx, rw, "scratch-bob")
		wantDenied(t, "list bob's container", err)
		pager := rw.NewListContainersPager(nil)
		_, err = pager.NextPage(ctx)
		wantDenied(t, "list the account's containers", err)
	})

	t.Run("read-only cannot write", func(t *testing.T) {
		ro := sasClient(t, issue(t, p, policy.AccessRead))
		if err := upload(ctx, admin, "scratch-alice", "data.csv", "a,b\n"); err != nil {
			t.Fatal(err)
		}
		if got, err := download(ctx, ro, "scratch-alice", "data.csv"); err != nil || got != "a,b\n" {
			t.Errorf("download = %q, %v", got, err)
		}
		if _, err := list(ctx, ro, "scratch-alice"); err != nil {
			t.Errorf("list: %v", err)
		}
		wantDenied(t, "upload with a read SAS", upload(ctx, ro, "scratch-alice", "new.txt", "x"))
		_, err := ro.DeleteBlob(ctx, "scratch-alice", "data.csv", nil)
		wantDenied(t, "delete with a read SAS", err)
	})

	t.Run("widened permissions break the signature", func(t *testing.T) {
		b := *issue(t, p, policy.AccessRead).Body.(*Body)
		q, err := url.ParseQuery(b.SASToken)
		if err != nil {
			t.Fatal(err)
		}
		q.Set("sp", "racwdl")
		b.SASToken = q.Encode()
		forged := sasClient(t, &vend.Credentials{Body: &b})
		wantDenied(t, "upload with a forged SAS", upload(ctx, forged, "scratch-alice", "forged.txt", "x"))
	})

	t.Run("expired SAS is rejected", func(t *testing.T) {
		past := newProvider(func() time.Time { return time.Now().Add(-3 * time.Hour) })
		old := sasClient(t, issue(t, past, policy.AccessReadWrite))
		_, err := download(ctx, old, "scratch-alice", "data.csv")
		wantDenied(t, "download with an expired SAS", err)
		wantDenied(t, "upload with an expired SAS", upload(ctx, old, "scratch-alice", "late.txt", "x"))
	})

	t.Run("container exists after Create", func(t *testing.T) {
		var found []string
		pager := admin.NewListContainersPager(nil)
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range page.ContainerItems {
				found = append(found, *c.Name)
			}
		}
		if !slices.Contains(found, "scratch-alice") {
			t.Errorf("containers = %v, want scratch-alice among them", found)
		}
	})
}
