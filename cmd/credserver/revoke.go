package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/credserver/credserver/internal/app"
	"github.com/credserver/credserver/internal/config"
)

// revoke removes everything credserver holds for one hub user: all their
// delegation tokens and their GitHub links (app.RevokeUser). Exit status:
// 0 done (also when there was nothing), 1 the config or the store failed,
// 2 usage.
func revoke(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("revoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", os.Getenv("CREDSERVER_CONFIG"), "config file (env CREDSERVER_CONFIG)")
	user := fs.String("user", "", "hub user name (required)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "credserver revoke: unexpected argument %q\n", fs.Arg(0))
		return 2
	case *path == "" || *user == "":
		fmt.Fprintln(stderr, "credserver revoke: -config and -user are required")
		return 2
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", *path, err)
		return 1
	}
	got, err := app.RevokeUser(context.Background(), cfg, *user)
	if err != nil {
		fmt.Fprintf(stderr, "credserver revoke: %v\n", err)
		return 1
	}
	links := "none"
	if len(got.GitHubLinks) > 0 {
		links = strings.Join(got.GitHubLinks, ", ")
	}
	fmt.Fprintf(stdout, "user %q: %d delegation tokens revoked; GitHub links removed: %s\n", *user, got.DelegationTokens, links)
	fmt.Fprintf(stdout, "every replica refuses the tokens within hub.cache_ttl (%s)\n", cfg.Hub.CacheTTL)
	return 0
}
