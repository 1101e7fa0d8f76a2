package config

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/credserver/credserver/internal/cond"
)

var (
	ownerRE      = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)
	repoRE       = regexp.MustCompile(`^[A-Za-z0-9._*?-]{1,100}$`)
	permissionRE = regexp.MustCompile(`^[a-z][a-z_]{0,63}$`)
)

func (v *validator) grants(c *Config) {
	seen := make(map[string]int, len(c.Grants))
	needKey := false
	for i := range c.Grants {
		g := &c.Grants[i]
		path := fmt.Sprintf("grants[%d]", i)
		subj := path
		if g.Name != "" {
			subj = fmt.Sprintf("%s %q", path, g.Name)
		}
		switch j, dup := seen[g.Name]; {
		case g.Name == "":
			v.errorf(path, "%s: name is required", subj)
		case !nameRE.MatchString(g.Name):
			v.errorf(path+".name", "%s: name must be 1-63 lowercase letters, digits, '_' or '-', starting with a letter or digit", subj)
		case dup:
			v.errorf(path+".name", "%s: name is already used by grants[%d]", subj, j)
		default:
			seen[g.Name] = i
		}
		v.allow(path, subj, g.Allow)
		v.durations(path, subj, g)
		v.when(path, subj, g.When)
		p, ok := c.Providers[g.Provider]
		switch {
		case g.Provider == "":
			v.errorf(path, "%s: provider is required", subj)
			continue
		case !ok && len(c.Providers) == 0:
			v.errorf(path+".provider", "%s: provider %q is not defined: the config has no providers section", subj, g.Provider)
			continue
		case !ok:
			v.errorf(path+".provider", "%s: provider %q is not defined under providers (defined: %s)",
				subj, g.Provider, strings.Join(slices.Sorted(maps.Keys(c.Providers)), ", "))
			continue
		}
		switch p.Type {
		case TypeAWS, TypeGCS, TypeAzure:
			v.storageGrant(path, subj, g, p)
		case TypeGitHub:
			v.githubGrant(path, subj, g, p)
			needKey = needKey || g.Mode == ModeUser
		}
	}
	v.isolation(c)
	if needKey && c.Store.EncryptionKeyFile == "" {
		v.errorf("store", "store.encryption_key_file is required: github grants with mode user keep refresh tokens encrypted in the store")
	}
}

func (v *validator) allow(path, subj string, a Allow) {
	if len(a.Users)+len(a.Groups) == 0 {
		v.errorf(path+".allow", "%s: allow must name at least one user or group pattern; a grant nobody may use is a mistake (access is denied by default)", subj)
	}
	for _, list := range []struct {
		kind string
		pats []string
	}{{"users", a.Users}, {"groups", a.Groups}} {
		for j, pat := range list.pats {
			if pat == "" || !utf8.ValidString(pat) || strings.ContainsFunc(pat, unicode.IsControl) {
				v.errorf(fmt.Sprintf("%s.allow.%s[%d]", path, list.kind, j), "%s: allow.%s[%d] %q is not a valid pattern", subj, list.kind, j, pat)
			}
		}
	}
}

func (v *validator) durations(path, subj string, g *Grant) {
	for _, d := range []struct {
		key string
		val Duration
	}{{"default_duration", g.DefaultDuration}, {"max_duration", g.MaxDuration}} {
		if t := time.Duration(d.val); t < MinDuration || t > MaxDuration {
			v.errorf(path+"."+d.key, "%s: %s %s must be between %s and %s", subj, d.key, d.val, Duration(MinDuration), Duration(MaxDuration))
		}
	}
	if g.DefaultDuration > g.MaxDuration {
		v.errorf(path+".default_duration", "%s: default_duration %s exceeds max_duration %s", subj, g.DefaultDuration, g.MaxDuration)
	}
}

// notFor reports keys set on a grant whose provider type has no use for
// them: a misplaced key would otherwise be silently ignored.
func (v *validator) notFor(path, subj, typ string, keys map[string]bool) {
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if keys[k] {
			v.errorf(path+"."+k, "%s: %s does not apply to %s grants", subj, k, typ)
		}
	}
}

func (v *validator) storageGrant(path, subj string, g *Grant, p Provider) {
	v.notFor(path, subj, p.Type, map[string]bool{
		"mode": g.Mode != "", "owner": g.Owner != "",
		"repositories": len(g.Repositories) > 0, "permissions": len(g.Permissions) > 0,
	})
	if g.Access != AccessRead && g.Access != AccessReadWrite {
		v.errorf(path+".access", "%s: access %q must be read or readwrite", subj, g.Access)
	}
	if msg := checkPrefix(g.Prefix); msg != "" {
		v.errorf(path+".prefix", "%s: prefix %q: %s", subj, g.Prefix, msg)
	}
	switch p.Type {
	case TypeAWS, TypeGCS:
		v.notFor(path, subj, p.Type, map[string]bool{"container": g.Container != "", "create": g.Create})
		check := checkS3Bucket
		if p.Type == TypeGCS {
			check = checkGCSBucket
		}
		if g.Bucket == "" {
			v.errorf(path, "%s: bucket is required", subj)
		} else if msg := check(g.Bucket); msg != "" {
			v.errorf(path+".bucket", "%s: bucket %q: %s", subj, g.Bucket, msg)
		}
	case TypeAzure:
		v.notFor(path, subj, p.Type, map[string]bool{"bucket": g.Bucket != ""})
		if g.Container == "" {
			v.errorf(path, "%s: container is required", subj)
		} else if msg := checkContainer(g.Container); msg != "" {
			v.errorf(path+".container", "%s: container %q: %s", subj, g.Container, msg)
		}
		if g.Prefix != "" && !p.HierarchicalNamespace {
			v.errorf(path+".prefix", "%s: prefix %q needs hierarchical_namespace: true on provider %q: a SAS on a flat-namespace account covers a whole container, so isolate users with a container per user (container: \"scratch-{user}\", prefix: \"\")",
				subj, g.Prefix, g.Provider)
		}
	}
}

func (v *validator) githubGrant(path, subj string, g *Grant, p Provider) {
	v.notFor(path, subj, p.Type, map[string]bool{
		"bucket": g.Bucket != "", "container": g.Container != "", "prefix": g.Prefix != "",
		"create": g.Create, "access": g.Access != "", "shared": g.Shared, "overlaps": len(g.Overlaps) > 0,
	})
	switch g.Mode {
	case ModeUser:
		if g.Owner != "" || len(g.Repositories) > 0 || len(g.Permissions) > 0 {
			v.errorf(path+".mode", "%s: owner, repositories and permissions apply only to mode installation: a user token carries the user's own permissions and cannot be narrowed", subj)
		}
		if p.ClientID == "" {
			v.errorf(path+".mode", "%s: mode user needs client_id on provider %q", subj, g.Provider)
		}
	case ModeInstallation:
		if g.Owner == "" {
			v.errorf(path, "%s: mode installation needs owner", subj)
		} else if !ownerRE.MatchString(g.Owner) {
			v.errorf(path+".owner", "%s: owner %q is not a GitHub account name", subj, g.Owner)
		}
		if len(g.Repositories) == 0 {
			v.errorf(path, "%s: mode installation needs repositories (names or patterns like \"course-*\")", subj)
		}
		for j, r := range g.Repositories {
			if !repoRE.MatchString(r) || r == "." || r == ".." {
				v.errorf(fmt.Sprintf("%s.repositories[%d]", path, j), "%s: repositories[%d] %q is not a repository name or pattern", subj, j, r)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(g.Permissions)) {
			if !permissionRE.MatchString(k) {
				v.errorf(path+".permissions."+k, "%s: permissions: %q is not a GitHub permission name", subj, k)
			}
			if val := g.Permissions[k]; val != "read" && val != "write" && val != "admin" {
				v.errorf(path+".permissions."+k, "%s: permissions.%s %q must be read, write or admin", subj, k, val)
			}
		}
		if p.AppID == 0 || p.PrivateKeyFile == "" {
			v.errorf(path+".mode", "%s: mode installation needs app_id and private_key_file on provider %q", subj, g.Provider)
		}
	case "":
		v.errorf(path, "%s: mode is required for github grants (user or installation)", subj)
	default:
		v.errorf(path+".mode", "%s: mode %q must be user or installation", subj, g.Mode)
	}
}

// when type-checks a grant's condition. Each problem is reported on its
// line: the line of the key, or for a block scalar (when: |) the line of
// the expression the problem is on.
func (v *validator) when(path, subj, expr string) {
	if expr == "" {
		return
	}
	err := cond.Check(expr)
	if err == nil {
		return
	}
	key := v.lines.line(path + ".when")
	var ce *cond.Error
	if !errors.As(err, &ce) {
		v.errs = append(v.errs, &Error{Line: key, Msg: fmt.Sprintf("%s: when: %v", subj, err)})
		return
	}
	multiline := strings.Contains(strings.TrimRight(expr, "\n"), "\n")
	for _, is := range ce.Issues {
		line := key
		if multiline && key > 0 && is.Line > 0 {
			line = key + is.Line
		}
		v.errs = append(v.errs, &Error{Line: line, Msg: fmt.Sprintf("%s: when: %s", subj, is)})
	}
}
