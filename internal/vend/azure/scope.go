package azure

import (
	"errors"
	"fmt"
	"github.com/credserver/credserver/internal/policy"
	"github.com/credserver/credserver/internal/public"
	"strings"
	"unicode"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/credserver/credserver/internal/vend"
)

// errInvalidScope marks requests a SAS cannot express safely; the policy
// package should have refused them long before.
var errInvalidScope = errors.New("invalid SAS scope")

// Permissions returns the SAS permissions for an access level, in the
// order Azure requires. read is read and list; readwrite adds add,
// create, write and delete, which is what adlfs needs to upload (block
// blobs, appends), overwrite and remove. Tags, version deletion, moves and
// ACL changes are never granted.
func Permissions(access policy.Access) (string, error) {
	switch access {
	case policy.AccessRead:
		return (&sas.ContainerPermissions{Read: true, List: true}).String(), nil
	case policy.AccessReadWrite:
		return (&sas.ContainerPermissions{Read: true, Add: true, Create: true, Write: true, Delete: true, List: true}).String(), nil
	}
	return "", fmt.Errorf("%w: access %q must be read or readwrite", errInvalidScope, access)
}

// scope turns req into the signature values of its SAS, without times.
func (p *Provider) scope(d policy.Decision) (sas.BlobSignatureValues, error) {
	var v sas.BlobSignatureValues
	if msg := checkContainer(d.Bucket); msg != "" {
		return v, fmt.Errorf("%w: container %q %s", errInvalidScope, d.Bucket, msg)
	}
	switch n := len(d.Prefixes); {
	case n == 0:
		return v, fmt.Errorf("%w: no prefix", errInvalidScope)
	case n > 1:
		return v, public.Wrap(vend.ErrPolicyTooLarge, fmt.Sprintf("an Azure SAS covers one container or one directory, not the %d prefixes this grant expands to", n))
	}
	perms, err := Permissions(d.Access)
	if err != nil {
		return v, err
	}
	v.ContainerName, v.Permissions = d.Bucket, perms
	prefix := d.Prefixes[0]
	if prefix == "" {
		return v, nil
	}
	if !p.hns {
		// Config refuses this at load; a container SAS here would hand
		// out everybody's prefixes.
		return v, fmt.Errorf("%w: prefix %q needs an account with hierarchical namespace; on a flat namespace a SAS covers the whole container",
			errInvalidScope, prefix)
	}
	if msg := checkPrefix(prefix); msg != "" {
		return v, fmt.Errorf("%w: prefix %q %s", errInvalidScope, prefix, msg)
	}
	v.Directory = strings.TrimSuffix(prefix, "/")
	return v, nil
}

// checkContainer says what is wrong with a container name, or "": 3-63
// lowercase letters, digits and single hyphens, starting and ending with a
// letter or digit.
func checkContainer(c string) string {
	if len(c) < 3 || len(c) > 63 {
		return "must be 3 to 63 characters"
	}
	for i := 0; i < len(c); i++ {
		ch := c[i]
		switch {
		case ch >= 'a' && ch <= 'z', ch >= '0' && ch <= '9':
		case ch == '-' && i > 0 && i < len(c)-1 && c[i-1] != '-':
		default:
			return "may hold only lowercase letters, digits and single inner hyphens"
		}
	}
	return ""
}

// checkPrefix says what is wrong with a directory prefix, or "". Every
// segment must be a plain name: an empty, "." or ".." segment or a
// backslash could name another directory than the one the policy meant.
func checkPrefix(p string) string {
	if !strings.HasSuffix(p, "/") {
		return "must end in /"
	}
	for _, seg := range strings.Split(strings.TrimSuffix(p, "/"), "/") {
		if seg == "" || seg == "." || seg == ".." {
			return `must not hold empty, "." or ".." segments`
		}
	}
	for _, r := range p {
		if r == '\\' || r == unicode.ReplacementChar || unicode.IsControl(r) {
			return "must not hold a backslash, control character or invalid UTF-8"
		}
	}
	return ""
}
