package policy

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/credserver/credserver/internal/cond"
	"github.com/credserver/credserver/internal/config"
)

// MinDuration is the shortest credential lifetime a request may ask.
const MinDuration = config.MinDuration

// User is the caller as the hub describes them.
type User struct {
	// Name is the hub user name.
	Name string
	// Groups are the hub groups the user belongs to.
	Groups []string
	// Admin is the hub's admin flag. It grants nothing here: only a
	// grant's allow rules do.
	Admin bool
	// Created is when the hub account was created, zero when unknown. It
	// tells a re-created account from the one that held the name before:
	// it is part of every Decision, so nothing cached for one is served
	// to the other.
	Created time.Time
}

// Request is what the caller asks for.
type Request struct {
	// Grant is the grant name.
	Grant string
	// Access is the access asked; 0 means the grant's configured access.
	Access Access
	// Duration is the lifetime asked; 0 means the grant's default.
	Duration time.Duration
}

// Decision is an allowed request, resolved to exactly what the provider
// must issue. Slices in a Decision may be shared with the Policy and
// other Decisions: callers must not modify them.
type Decision struct {
	// Grant is the grant name.
	Grant string
	// Provider is the provider's name in the config (a key of providers).
	Provider string
	// Type is the provider type: aws, gcs, azure or github.
	Type string
	// Access is the access to issue, never 0.
	Access Access
	// Duration is the lifetime to issue, within the grant's bounds.
	Duration time.Duration
	// Bucket is the bucket (aws, gcs) or the container (azure) with its
	// template expanded; "" for github.
	Bucket string
	// Prefixes are the object prefixes the credential covers, each ""
	// (the whole bucket) or ending in "/"; one per {group} expansion,
	// otherwise exactly one; nil for github.
	Prefixes []string
	// Location is what the user is told: "s3://bucket/prefix",
	// "gs://bucket/prefix", "abfs://container/prefix" (for several
	// prefixes, the first), or the GitHub URL the token is for.
	Location string
	// User is the user's name.
	User string
	// Created is the user's account creation time (User.Created), zero
	// when unknown.
	Created time.Time
	// Create says the container is created on first use (azure).
	Create bool
	// GitHub holds the github grant's settings; nil for other types.
	GitHub *GitHubScope
}

// GitHubMode is how a github grant's tokens are made.
type GitHubMode string

// The GitHub grant modes.
const (
	// GitHubUser: the user's own 8-hour device-flow token, refreshed
	// server-side from the stored link.
	GitHubUser GitHubMode = config.ModeUser
	// GitHubInstallation: a 1-hour installation token narrowed to the
	// grant's repositories and permissions.
	GitHubInstallation GitHubMode = config.ModeInstallation
)

// GitHubScope is what a github grant lets a token do. It is shared and
// must not be modified.
type GitHubScope struct {
	// Mode is GitHubUser or GitHubInstallation.
	Mode GitHubMode
	// Owner, Repositories and Permissions narrow installation tokens.
	Owner        string
	Repositories []string
	Permissions  map[string]string
}

// GrantView describes a grant a user may ask for, as whoami lists it.
type GrantView struct {
	Name string
	// Provider is the provider type: aws, gcs, azure or github.
	Provider string
	// Access is the most the user may ask: "read" or "readwrite".
	Access string
	// Location is where the credential leads, as in Decision.
	Location string
	// MaxDuration is the longest lifetime the user may ask.
	MaxDuration time.Duration
}

// Policy is the compiled set of grants. It is immutable after Compile and
// safe for concurrent use; reloading the config means compiling a new one.
type Policy struct {
	grants []*grant
	byName map[string]*grant
	index  index
}

// grant is one compiled config.Grant.
type grant struct {
	name, provider, typ string
	access              Access
	def, max            time.Duration
	users, groups       matcher
	noUsers, noGroups   bool            // the lists are empty
	cond                *cond.Condition // nil without `when`

	scheme   string   // s3, gs, abfs; "" for github
	bucket   template // bucket or container
	prefix   template
	create   bool
	fixed    []string // Prefixes when prefix has no variable
	location string   // Location when nothing is templated
	// located remembers users' locations when they depend on the user
	// name alone; nil otherwise.
	located  *locatedMemo
	github   *GitHubScope
	overlaps []string // grants declared to meet this one, sorted
}

// Compile validates cfg and compiles its grants: allow lists into exact
// sets and precompiled patterns, templates into their parts, conditions
// into checked CEL programs. It fails on any problem config.Validate
// finds; a Config from config.Load or config.Parse has passed that
// already.
func Compile(cfg *config.Config) (*Policy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("policy: invalid config: %w", err)
	}
	p := &Policy{byName: make(map[string]*grant, len(cfg.Grants))}
	for i := range cfg.Grants {
		g, err := compileGrant(&cfg.Grants[i], cfg.Providers[cfg.Grants[i].Provider])
		if err != nil {
			return nil, fmt.Errorf("policy: grant %q: %w", cfg.Grants[i].Name, err)
		}
		p.grants = append(p.grants, g)
		p.byName[g.name] = g
	}
	for _, g := range cfg.Grants {
		for _, o := range g.Overlaps {
			// config.Validate checked that both exist.
			p.byName[g.Name].overlaps = append(p.byName[g.Name].overlaps, o)
			p.byName[o].overlaps = append(p.byName[o].overlaps, g.Name)
		}
	}
	for _, g := range p.grants {
		slices.Sort(g.overlaps)
		g.overlaps = slices.Compact(g.overlaps)
	}
	p.index = newIndex(p.grants)
	return p, nil
}

func compileGrant(cg *config.Grant, prov config.Provider) (*grant, error) {
	g := &grant{
		name:     cg.Name,
		provider: cg.Provider,
		typ:      prov.Type,
		def:      time.Duration(cg.DefaultDuration),
		max:      time.Duration(cg.MaxDuration),
		users:    newMatcher(cg.Allow.Users),
		groups:   newMatcher(cg.Allow.Groups),
		create:   cg.Create,
	}
	g.noUsers, g.noGroups = g.users.empty(), g.groups.empty()
	var err error
	if cg.When != "" {
		if g.cond, err = cond.Compile(cg.When); err != nil {
			return nil, fmt.Errorf("when: %w", err)
		}
	}
	switch prov.Type {
	case config.TypeAWS, config.TypeGCS, config.TypeAzure:
		if g.access, err = ParseAccess(cg.Access); err != nil {
			return nil, err
		}
		bucket := cg.Bucket
		switch prov.Type {
		case config.TypeAWS:
			g.scheme = "s3"
		case config.TypeGCS:
			g.scheme = "gs"
		default:
			g.scheme, bucket = "abfs", cg.Container
		}
		if g.bucket, err = parseTemplate(bucket, false); err != nil {
			return nil, fmt.Errorf("bucket: %w", err)
		}
		if g.prefix, err = parseTemplate(cg.Prefix, true); err != nil {
			return nil, fmt.Errorf("prefix: %w", err)
		}
		if g.prefix.static() {
			g.fixed = []string{cg.Prefix}
			if g.bucket.static() {
				g.location = g.scheme + "://" + bucket + "/" + cg.Prefix
			}
		}
		if g.location == "" && !g.prefix.hasGroup {
			g.located = newLocatedMemo()
		}
	case config.TypeGitHub:
		// Copies: the Policy must not change if the caller reuses cfg.
		g.github = &GitHubScope{Mode: GitHubMode(cg.Mode), Owner: cg.Owner,
			Repositories: slices.Clone(cg.Repositories), Permissions: maps.Clone(cg.Permissions)}
		g.access = githubAccess(cg)
		g.location = prov.WebURL
		if cg.Mode == config.ModeInstallation {
			g.location = prov.WebURL + "/" + cg.Owner
		}
	default:
		return nil, fmt.Errorf("provider type %q is not supported", prov.Type)
	}
	return g, nil
}

// githubAccess is the access a github grant's token carries: a user token
// has the user's own rights; an installation token writes when any of its
// permissions does.
func githubAccess(cg *config.Grant) Access {
	if cg.Mode == config.ModeUser {
		return AccessReadWrite
	}
	for _, v := range cg.Permissions {
		if v == "write" || v == "admin" {
			return AccessReadWrite
		}
	}
	return AccessRead
}
