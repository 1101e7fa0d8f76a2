package policy_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/credserver/credserver/internal/policy"
)

// A grant remembers its users' locations in a bounded memo. Users that
// share a slot, asking in any order and at the same time, each get their
// own location, again and again.
func TestDecideRemembersLocations(t *testing.T) {
	p := compile(t, testConfig)
	names := make([]string, 3000) // about three users a slot
	for i := range names {
		names[i] = fmt.Sprintf("user%d", i)
	}
	type where struct {
		Location, Bucket string
		Prefixes         []string
	}
	want := func(grant, name string) where {
		useg, cseg := policy.UserSegment(name), policy.ContainerSegment(name)
		switch grant {
		case "scratch":
			return where{"s3://hub-scratch/" + useg + "/", "hub-scratch", []string{useg + "/"}}
		case "blob":
			return where{"abfs://scratch-" + cseg + "/", "scratch-" + cseg, []string{""}}
		default: // lake
			return where{"abfs://lake/home/" + useg + "/", "lake", []string{"home/" + useg + "/"}}
		}
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for pass := range 3 {
				for i := range names {
					name := names[(i*7+w*13+pass*101)%len(names)]
					for _, grant := range []string{"scratch", "blob", "lake"} {
						d, err := p.Decide(policy.User{Name: name}, policy.Request{Grant: grant})
						if err != nil {
							t.Error(err)
							return
						}
						if diff := cmp.Diff(want(grant, name), where{d.Location, d.Bucket, d.Prefixes}); diff != "" || d.User != name {
							t.Errorf("%s for %s (-want +got):\n%s", grant, name, diff)
							return
						}
					}
				}
			}
		})
	}
	wg.Wait()
}
