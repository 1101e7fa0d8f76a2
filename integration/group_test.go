package integration

import (
	"encoding/json"
	"slices"
	"testing"
)

// TestGroupTeamSpace: a {group} grant gives each member one credential
// covering every proj-* group they belong to. alice (proj-ocean) and carol
// (proj-ocean, proj-ice) share projects/proj-ocean/; only carol reaches
// projects/proj-ice/; bob (no proj-* group) is refused the grant.
func TestGroupTeamSpace(t *testing.T) {
	s := sharedStack(t)
	requireFiles(t, "/usr/bin/python3", "/usr/lib/python3/dist-packages/boto3")
	onShared := func(o op) op { o.Bucket = "hub-shared"; return o }

	r := call(t, s.URL+"/v1/credentials/team", "token "+s.Tokens["carol"])
	if r.Status != 200 {
		t.Fatalf("carol team = %d %s", r.Status, r.Raw)
	}
	var prefixes []string
	raw, _ := json.Marshal(r.Body["prefixes"])
	_ = json.Unmarshal(raw, &prefixes)
	if want := []string{"projects/proj-ice/", "projects/proj-ocean/"}; !slices.Equal(prefixes, want) {
		t.Errorf("carol's prefixes = %q, want %q (one credential for both groups)", prefixes, want)
	}
	if r := call(t, s.URL+"/v1/credentials/team", "token "+s.Tokens["bob"]); r.Status != 403 || errCode(r) != "not_allowed" {
		t.Errorf("bob (no proj-* group) = %d %s, want 403 not_allowed", r.Status, r.Raw)
	}

	carol := newNotebook(t, s, "carol")
	configure(t, carol, "team")
	check(t, carol, "team",
		want(onShared(put("projects/proj-ocean/notes.md", "from carol")), true),
		want(onShared(put("projects/proj-ice/core.csv", "depth,age")), true),
		want(onShared(list("projects/proj-ocean/")), true),
		want(onShared(list("projects/")), false),
		want(onShared(put("projects/proj-other/x", "x")), false),
	)
	alice := newNotebook(t, s, "alice")
	configure(t, alice, "team")
	res := check(t, alice, "team",
		want(onShared(get("projects/proj-ocean/notes.md")), true),
		want(onShared(put("projects/proj-ocean/reply.md", "from alice")), true),
		want(onShared(get("projects/proj-ice/core.csv")), false),
		want(onShared(list("projects/proj-ice/")), false),
		want(onShared(put("projects/proj-ice/x", "x")), false),
	)
	if len(res) > 0 && res[0].OK && string(res[0].Value) != `"from carol"` {
		t.Errorf("alice read %s from the shared team space", res[0].Value)
	}
}
