package vend

import (
	"context"
	"github.com/credserver/credserver/internal/policy"
	"testing"
	"time"
)

type forgetProvider struct{ calls int }

func (p *forgetProvider) Issue(_ context.Context, req policy.Decision) (*Credentials, error) {
	p.calls++
	return &Credentials{Expires: time.Now().Add(time.Hour), Body: req.User + "/" + req.Grant}, nil
}

func TestForget(t *testing.T) {
	c := NewCache(CacheConfig{})
	p := &forgetProvider{}
	reqs := []policy.Decision{
		{User: "alice", Grant: "github", Duration: time.Hour},
		{User: "alice", Grant: "github", Duration: time.Hour, Provider: "gh2"},
		{User: "alice", Grant: "github2", Duration: time.Hour},
		{User: "alice2", Grant: "github", Duration: time.Hour},
		{User: "alic", Grant: "egithub", Duration: time.Hour},
	}
	for _, r := range reqs {
		if _, _, err := c.Issue(context.Background(), p, r); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.Forget("alice", "github"); n != 2 {
		t.Errorf("Forget(alice, github) dropped %d, want 2", n)
	}
	for i, r := range reqs {
		_, hit, err := c.Issue(context.Background(), p, r)
		if err != nil {
			t.Fatal(err)
		}
		if want := i >= 2; hit != want {
			t.Errorf("request %d (%s, %s) after Forget: hit %v, want %v", i, r.User, r.Grant, hit, want)
		}
	}
}
