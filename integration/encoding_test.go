package integration

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/credserver/credserver/internal/policy"
)

// encodedUsers are hub usernames that cannot be used verbatim in a storage
// path or an IAM policy. Each must still get a working prefix of its own.
var encodedUsers = []string{"star*user", "dollar$user", "brace{user}", "sp ace", "émile", "per%cent", "q?mark"}

func TestEncodedUsernames(t *testing.T) {
	s := sharedStack(t)
	requireFiles(t, "/usr/bin/python3", "/usr/lib/python3/dist-packages/boto3")
	seen := map[string]string{}
	for _, user := range encodedUsers {
		t.Run(user, func(t *testing.T) {
			n := newNotebook(t, s, user)
			var who struct {
				User   string `json:"user"`
				Grants []struct {
					Name, Location string
				} `json:"grants"`
			}
			if err := json.Unmarshal([]byte(n.credctl("whoami", "--json")), &who); err != nil {
				t.Fatal(err)
			}
			if who.User != user {
				t.Fatalf("whoami user = %q, want %q", who.User, user)
			}
			var loc string
			for _, g := range who.Grants {
				if g.Name == "scratch" {
					loc = g.Location
				}
			}
			wantLoc := "s3://hub-scratch/" + policy.UserSegment(user) + "/"
			if loc != wantLoc {
				t.Fatalf("location = %q, want %q", loc, wantLoc)
			}
			if strings.ContainsAny(strings.TrimPrefix(loc, "s3://hub-scratch/"), "*?$ {}\\\"'") {
				t.Errorf("location %q holds a character that could act as a wildcard or variable", loc)
			}
			if other, dup := seen[loc]; dup {
				t.Fatalf("users %q and %q share %s", other, user, loc)
			}
			seen[loc] = user
			prefix := strings.TrimPrefix(loc, "s3://hub-scratch/")
			configure(t, n, "scratch")
			check(t, n, "scratch",
				want(put(prefix+"data.csv", "a,b\n1,2\n"), true),
				want(get(prefix+"data.csv"), true),
				want(list(prefix), true),
				want(list(""), false),
				want(list("bob/"), false),
				want(get("bob/notes.txt"), false),
				want(put("bob/x", "x"), false),
			)
		})
	}
}
