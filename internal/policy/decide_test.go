package policy_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/policy"
)

const testConfig = `
hub: {api_url: "http://127.0.0.1:8081/hub/api"}
store: {encryption_key_file: /etc/k}
providers:
  s3: {type: aws}
  gcs: {type: gcs}
  blob: {type: azure, account_name: acct, account_key_file: /etc/k}
  adls: {type: azure, account_name: lake, account_key_file: /etc/k, hierarchical_namespace: true}
  gh: {type: github, app_id: 1, client_id: c, private_key_file: /etc/k, web_url: "https://ghe.example.org"}
grants:
  - {name: scratch, provider: s3, bucket: hub-scratch, prefix: "{user}/", access: readwrite, allow: {users: ["*"]}}
  - {name: alice-only, provider: s3, bucket: b-alice, access: readwrite, allow: {users: [alice]}}
  - {name: a-star, provider: s3, bucket: b-a, prefix: "x/", allow: {users: ["a*", "b?b"]}}
  - {name: staff, provider: gcs, bucket: hub-staff, prefix: "shared/", allow: {groups: [staff]}}
  - {name: teams, provider: gcs, bucket: hub-teams, prefix: "teams/{group}/{user}/", access: readwrite, allow: {users: [carol], groups: ["team-*"]}}
  - {name: short, provider: s3, bucket: b-short, default_duration: 30m, max_duration: 45m, allow: {users: ["*"]}}
  - {name: blob, provider: blob, container: "scratch-{user}", create: true, access: readwrite, allow: {users: ["*"]}}
  - {name: lake, provider: adls, container: lake, prefix: "home/{user}/", access: readwrite, allow: {users: ["*"]}}
  - {name: gh-user, provider: gh, mode: user, allow: {users: ["*"]}}
  - {name: gh-course, provider: gh, mode: installation, owner: my-org, repositories: ["course-*"], permissions: {contents: read}, allow: {groups: [instructors]}}
  - {name: cond, provider: s3, bucket: b-cond, allow: {users: ["*"]}, when: "true"}
  - {name: short-only, provider: s3, bucket: b-short-only, allow: {groups: [staff]}, when: 'request.duration <= duration("1h")'}
  - {name: admins, provider: s3, bucket: b-admins, allow: {users: ["*"]}, when: "user.admin"}
  - {name: read-only-when, provider: s3, bucket: b-rw, access: readwrite, allow: {users: [alice, bob]}, when: 'request.access == "read" || grant.name == "x"'}
  - {name: broken-when, provider: s3, bucket: b-broken, allow: {users: ["*"]}, when: 'user.groups[3] == "x"'}
  - {name: projects, provider: s3, bucket: hub-projects, prefix: "projects/{group}/", access: readwrite, allow: {groups: ["proj-*"]}}
  - {name: suffix, provider: s3, bucket: b-suffix, allow: {users: ["*-admin"], groups: ["*-staff"]}}
  - {name: many, provider: s3, bucket: b-many, allow: {users: [u1, u2, u3, u4, u5, u6, u7, u8, u9, u10], groups: [g1, g2, g3, g4, g5, g6, g7, g8, g9, g10]}}
`

func compile(t testing.TB, yaml string) *policy.Policy {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const h = time.Hour

func TestDecide(t *testing.T) {
	p := compile(t, testConfig)
	s3 := func(user, bucket, prefix string, acc policy.Access, d time.Duration) policy.Decision {
		return policy.Decision{Provider: "s3", Type: "aws", Access: acc, Duration: d, Bucket: bucket,
			Prefixes: []string{prefix}, Location: "s3://" + bucket + "/" + prefix, User: user}
	}
	tests := []struct {
		name    string
		user    policy.User
		req     policy.Request
		want    policy.Decision
		wantErr error
	}{
		{name: "user glob star", user: policy.User{Name: "alice"}, req: policy.Request{Grant: "scratch"},
			want: s3("alice", "hub-scratch", "alice/", policy.AccessReadWrite, h)},
		{name: "user exact", user: policy.User{Name: "alice"}, req: policy.Request{Grant: "alice-only", Access: policy.AccessRead, Duration: 2 * h},
			want: s3("alice", "b-alice", "", policy.AccessRead, 2*h)},
		{name: "user exact is not a prefix match", user: policy.User{Name: "alice2"}, req: policy.Request{Grant: "alice-only"},
			wantErr: policy.ErrNotAllowed},
		{name: "user exact is case-sensitive", user: policy.User{Name: "Alice"}, req: policy.Request{Grant: "alice-only"},
			wantErr: policy.ErrNotAllowed},
		{name: "user glob a*", user: policy.User{Name: "anna"}, req: policy.Request{Grant: "a-star"},
			want: s3("anna", "b-a", "x/", policy.AccessRead, h)},
		{name: "user glob b?b", user: policy.User{Name: "bob"}, req: policy.Request{Grant: "a-star"},
			want: s3("bob", "b-a", "x/", policy.AccessRead, h)},
		{name: "user glob no match", user: policy.User{Name: "bobby", Groups: []string{"a-team"}}, req: policy.Request{Grant: "a-star"},
			wantErr: policy.ErrNotAllowed},
		{name: "group exact", user: policy.User{Name: "dan", Groups: []string{"x", "staff"}}, req: policy.Request{Grant: "staff"},
			want: policy.Decision{Provider: "gcs", Type: "gcs", Access: policy.AccessRead, Duration: h, Bucket: "hub-staff",
				Prefixes: []string{"shared/"}, Location: "gs://hub-staff/shared/", User: "dan"}},
		{name: "group exact no match", user: policy.User{Name: "staff", Groups: []string{"staffers"}}, req: policy.Request{Grant: "staff"},
			wantErr: policy.ErrNotAllowed},
		{name: "admin flag grants nothing", user: policy.User{Name: "root", Admin: true}, req: policy.Request{Grant: "staff"},
			wantErr: policy.ErrNotAllowed},
		{name: "group glob, one prefix per matching group, sorted", user: policy.User{Name: "erin", Groups: []string{"team-b", "other", "team-a", "team-b"}},
			req: policy.Request{Grant: "teams"},
			want: policy.Decision{Provider: "gcs", Type: "gcs", Access: policy.AccessReadWrite, Duration: h, Bucket: "hub-teams",
				Prefixes: []string{"teams/team-a/erin/", "teams/team-b/erin/"}, Location: "gs://hub-teams/teams/team-a/erin/", User: "erin"}},
		{name: "group template via users only", user: policy.User{Name: "carol", Groups: []string{"other"}}, req: policy.Request{Grant: "teams"},
			wantErr: policy.ErrNotAllowed},
		{name: "group template via users with a group", user: policy.User{Name: "carol", Groups: []string{"team-x/y", "other"}}, req: policy.Request{Grant: "teams"},
			want: policy.Decision{Provider: "gcs", Type: "gcs", Access: policy.AccessReadWrite, Duration: h, Bucket: "hub-teams",
				Prefixes: []string{"teams/team-x%2Fy/carol/"}, Location: "gs://hub-teams/teams/team-x%2Fy/carol/", User: "carol"}},
		{name: "unknown grant", user: policy.User{Name: "alice"}, req: policy.Request{Grant: "nope"},
			wantErr: policy.ErrUnknownGrant},
		{name: "encoded user", user: policy.User{Name: "a/../b"}, req: policy.Request{Grant: "scratch"},
			want: s3("a/../b", "hub-scratch", "a%2F..%2Fb/", policy.AccessReadWrite, h)},
		{name: "dot-dot user", user: policy.User{Name: ".."}, req: policy.Request{Grant: "scratch"},
			want: s3("..", "hub-scratch", "%2E%2E/", policy.AccessReadWrite, h)},
		{name: "glob user", user: policy.User{Name: "*"}, req: policy.Request{Grant: "scratch"},
			want: s3("*", "hub-scratch", "%2A/", policy.AccessReadWrite, h)},
		{name: "azure container per user", user: policy.User{Name: "emile"}, req: policy.Request{Grant: "blob"},
			want: policy.Decision{Provider: "blob", Type: "azure", Access: policy.AccessReadWrite, Duration: h, Bucket: "scratch-emile",
				Prefixes: []string{""}, Location: "abfs://scratch-emile/", User: "emile", Create: true}},
		{name: "azure container per user, encoded", user: policy.User{Name: "émile"}, req: policy.Request{Grant: "blob"},
			want: policy.Decision{Provider: "blob", Type: "azure", Access: policy.AccessReadWrite, Duration: h, Bucket: "scratch-" + policy.ContainerSegment("émile"),
				Prefixes: []string{""}, Location: "abfs://scratch-" + policy.ContainerSegment("émile") + "/", User: "émile", Create: true}},
		{name: "azure directory", user: policy.User{Name: "alice"}, req: policy.Request{Grant: "lake"},
			want: policy.Decision{Provider: "adls", Type: "azure", Access: policy.AccessReadWrite, Duration: h, Bucket: "lake",
				Prefixes: []string{"home/alice/"}, Location: "abfs://lake/home/alice/", User: "alice"}},
		{name: "github user", user: policy.User{Name: "alice"}, req: policy.Request{Grant: "gh-user"},
			want: policy.Decision{Provider: "gh", Type: "github", Access: policy.AccessReadWrite, Duration: h,
				Location: "https://ghe.example.org", User: "alice", GitHub: &policy.GitHubScope{Mode: policy.GitHubUser}}},
		{name: "github installation", user: policy.User{Name: "ian", Groups: []string{"instructors"}}, req: policy.Request{Grant: "gh-course"},
			want: policy.Decision{Provider: "gh", Type: "github", Access: policy.AccessRead, Duration: h,
				Location: "https://ghe.example.org/my-org", User: "ian", GitHub: &policy.GitHubScope{Mode: policy.GitHubInstallation, Owner: "my-org",
					Repositories: []string{"course-*"}, Permissions: map[string]string{"contents": "read"}}}},
		{name: "when true", user: policy.User{Name: "alice"}, req: policy.Request{Grant: "cond"},
			want: s3("alice", "b-cond", "", policy.AccessRead, h)},
		{name: "when on request.duration, default", user: policy.User{Name: "sam", Groups: []string{"staff"}}, req: policy.Request{Grant: "short-only"},
			want: s3("sam", "b-short-only", "", policy.AccessRead, h)},
		{name: "when on request.duration, asked 30m", user: policy.User{Name: "sam", Groups: []string{"staff"}}, req: policy.Request{Grant: "short-only", Duration: h / 2},
			want: s3("sam", "b-short-only", "", policy.AccessRead, h/2)},
		{name: "when on request.duration, asked 2h", user: policy.User{Name: "sam", Groups: []string{"staff"}}, req: policy.Request{Grant: "short-only", Duration: 2 * h},
			wantErr: policy.ErrNotAllowed},
		{name: "when not reached without an allow rule", user: policy.User{Name: "sam"}, req: policy.Request{Grant: "short-only"},
			wantErr: policy.ErrNotAllowed},
		{name: "when on user.admin, admin", user: policy.User{Name: "root", Admin: true}, req: policy.Request{Grant: "admins"},
			want: s3("root", "b-admins", "", policy.AccessRead, h)},
		{name: "when on user.admin, not admin", user: policy.User{Name: "root"}, req: policy.Request{Grant: "admins"},
			wantErr: policy.ErrNotAllowed},
		{name: "when on request.access, read", user: policy.User{Name: "bob"}, req: policy.Request{Grant: "read-only-when", Access: policy.AccessRead},
			want: s3("bob", "b-rw", "", policy.AccessRead, h)},
		{name: "when on request.access, default readwrite", user: policy.User{Name: "bob"}, req: policy.Request{Grant: "read-only-when"},
			wantErr: policy.ErrNotAllowed},
		{name: "when evaluation error fails closed", user: policy.User{Name: "alice", Groups: []string{"a"}}, req: policy.Request{Grant: "broken-when"},
			wantErr: policy.ErrNotAllowed},
		{name: "when evaluation with the value present", user: policy.User{Name: "alice", Groups: []string{"a", "b", "c", "x"}}, req: policy.Request{Grant: "broken-when"},
			want: s3("alice", "b-broken", "", policy.AccessRead, h)},
		{name: "{group} prefix for every matching group", user: policy.User{Name: "pat", Groups: []string{"proj-b", "staff", "proj-a"}}, req: policy.Request{Grant: "projects"},
			want: policy.Decision{Provider: "s3", Type: "aws", Access: policy.AccessReadWrite, Duration: h, Bucket: "hub-projects",
				Prefixes: []string{"projects/proj-a/", "projects/proj-b/"}, Location: "s3://hub-projects/projects/proj-a/", User: "pat"}},
		{name: "{group} prefix, no matching group", user: policy.User{Name: "pat", Groups: []string{"proj", "staff"}}, req: policy.Request{Grant: "projects"},
			wantErr: policy.ErrNotAllowed},
		{name: "user suffix glob", user: policy.User{Name: "jo-admin"}, req: policy.Request{Grant: "suffix"},
			want: s3("jo-admin", "b-suffix", "", policy.AccessRead, h)},
		{name: "group suffix glob", user: policy.User{Name: "jo", Groups: []string{"x", "geo-staff"}}, req: policy.Request{Grant: "suffix"},
			want: s3("jo", "b-suffix", "", policy.AccessRead, h)},
		{name: "suffix glob is anchored", user: policy.User{Name: "jo-admins", Groups: []string{"geo-staff2"}}, req: policy.Request{Grant: "suffix"},
			wantErr: policy.ErrNotAllowed},
		{name: "large exact user set", user: policy.User{Name: "u10"}, req: policy.Request{Grant: "many"},
			want: s3("u10", "b-many", "", policy.AccessRead, h)},
		{name: "large exact group set", user: policy.User{Name: "v", Groups: []string{"g0", "g7"}}, req: policy.Request{Grant: "many"},
			want: s3("v", "b-many", "", policy.AccessRead, h)},
		{name: "large exact sets, no match", user: policy.User{Name: "u", Groups: []string{"g", "g11", "u1"}}, req: policy.Request{Grant: "many"},
			wantErr: policy.ErrNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Decide(tt.user, tt.req)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Decide() = %+v, %v; want %v", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decide() error = %v", err)
			}
			tt.want.Grant = tt.req.Grant
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Decide() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecideBounds(t *testing.T) {
	p := compile(t, testConfig)
	alice := policy.User{Name: "alice"}
	tests := []struct {
		name      string
		req       policy.Request
		wantParam string
		wantMsg   string
		wantDur   time.Duration
	}{
		{name: "read on readwrite grant", req: policy.Request{Grant: "scratch", Access: policy.AccessRead}, wantDur: h},
		{name: "readwrite on read grant", req: policy.Request{Grant: "a-star", Access: policy.AccessReadWrite},
			wantParam: "access", wantMsg: "access readwrite exceeds this grant's maximum of read"},
		{name: "invalid access", req: policy.Request{Grant: "scratch", Access: 3},
			wantParam: "access", wantMsg: "access must be read or readwrite"},
		{name: "default duration", req: policy.Request{Grant: "short"}, wantDur: 30 * time.Minute},
		{name: "at max", req: policy.Request{Grant: "short", Duration: 45 * time.Minute}, wantDur: 45 * time.Minute},
		{name: "above max", req: policy.Request{Grant: "short", Duration: 46 * time.Minute},
			wantParam: "duration", wantMsg: "duration 46m exceeds this grant's maximum of 45m"},
		{name: "above 12h", req: policy.Request{Grant: "scratch", Duration: 13 * h},
			wantParam: "duration", wantMsg: "duration 13h exceeds this grant's maximum of 12h"},
		{name: "at min", req: policy.Request{Grant: "scratch", Duration: 30 * time.Minute}, wantDur: 30 * time.Minute},
		{name: "below min", req: policy.Request{Grant: "scratch", Duration: 29*time.Minute + 59*time.Second},
			wantParam: "duration", wantMsg: "duration 29m59s is below the minimum of 30m"},
		{name: "negative", req: policy.Request{Grant: "scratch", Duration: -h},
			wantParam: "duration", wantMsg: "duration -1h is below the minimum of 30m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Decide(alice, tt.req)
			if tt.wantParam == "" {
				if err != nil || got.Duration != tt.wantDur {
					t.Fatalf("Decide() = %v, %v; want duration %v", got.Duration, err, tt.wantDur)
				}
				return
			}
			var re *policy.RequestError
			if !errors.As(err, &re) {
				t.Fatalf("Decide() error = %v, want a RequestError", err)
			}
			if re.Param != tt.wantParam || re.Msg != tt.wantMsg {
				t.Errorf("RequestError = %+v, want {%s %s}", *re, tt.wantParam, tt.wantMsg)
			}
		})
	}
}

// TestRefusalBeforeBounds checks that a user who may not use a grant
// learns nothing about its bounds.
func TestRefusalBeforeBounds(t *testing.T) {
	p := compile(t, testConfig)
	_, err := p.Decide(policy.User{Name: "zed"}, policy.Request{Grant: "staff", Duration: 20 * h})
	if !errors.Is(err, policy.ErrNotAllowed) {
		t.Errorf("Decide() error = %v, want ErrNotAllowed", err)
	}
}

func TestParseAccess(t *testing.T) {
	for in, want := range map[string]policy.Access{"read": policy.AccessRead, "readwrite": policy.AccessReadWrite} {
		got, err := policy.ParseAccess(in)
		if err != nil || got != want || got.String() != in {
			t.Errorf("ParseAccess(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "write", "READ", "read "} {
		_, err := policy.ParseAccess(in)
		var re *policy.RequestError
		if !errors.As(err, &re) || re.Param != "access" {
			t.Errorf("ParseAccess(%q) error = %v, want a RequestError for access", in, err)
		}
	}
}
