package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/policy"
)

// explain prints, for each grant of a config (or one), whether a user
// with the given groups may have it, by which rule, and where it leads.
// Exit status: 0 when it ran, whatever the decisions; 1 when the config
// is invalid (every problem with its line); 2 on a usage error.
func explain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", os.Getenv("CREDSERVER_CONFIG"), "config file (env CREDSERVER_CONFIG)")
	user := fs.String("user", "", "hub user name (required)")
	groups := fs.String("groups", "", "the user's hub groups, comma-separated")
	grant := fs.String("grant", "", "explain only this grant")
	admin := fs.Bool("admin", false, "the user is a hub admin (conditions see user.admin)")
	access := fs.String("access", "", "access to ask: read or readwrite (default: each grant's)")
	duration := fs.String("duration", "", "duration to ask, e.g. 2h (default: each grant's)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "credserver explain: "+format+"\n", a...)
		return 2
	}
	switch {
	case fs.NArg() > 0:
		return usage("unexpected argument %q", fs.Arg(0))
	case *path == "":
		return usage("-config is required")
	case *user == "":
		return usage("-user is required")
	}
	req := policy.Request{}
	if *access != "" {
		a, err := policy.ParseAccess(*access)
		if err != nil {
			return usage("-access: %v", err)
		}
		req.Access = a
	}
	if *duration != "" {
		d, err := config.ParseDuration(*duration)
		if err != nil {
			return usage("-duration: %v", err)
		}
		req.Duration = d
	}
	cfg, err := config.Load(*path)
	var pol *policy.Policy
	if err == nil {
		pol, err = policy.Compile(cfg)
	}
	if err != nil {
		printProblems(stderr, *path, err)
		return 1
	}
	u := policy.User{Name: *user, Groups: splitGroups(*groups), Admin: *admin}
	names := make([]string, 0, len(cfg.Grants))
	for _, g := range cfg.Grants {
		if *grant == "" || g.Name == *grant {
			names = append(names, g.Name)
		}
	}
	if len(names) == 0 {
		return usage("no grant named %q in %s", *grant, *path)
	}
	fmt.Fprintf(stdout, "user %q, groups %q, admin %v\n", u.Name, u.Groups, u.Admin)
	allowed := 0
	for _, name := range names {
		req.Grant = name
		ex, err := pol.ExplainRequest(u, req)
		if err != nil {
			// Every name comes from the config the policy was built from.
			fmt.Fprintf(stderr, "credserver explain: %v\n", err)
			return 1
		}
		if ex.Allowed {
			allowed++
		}
		printExplanation(stdout, ex)
	}
	fmt.Fprintf(stdout, "\n%d of %d grants allowed\n", allowed, len(names))
	return 0
}

func printExplanation(w io.Writer, ex policy.Explanation) {
	decision := "DENY"
	if ex.Allowed {
		decision = "ALLOW"
	}
	fmt.Fprintf(w, "\n%s: %s\n", ex.Grant, decision)
	fmt.Fprintf(w, "  provider: %s (%s)\n", ex.Provider, ex.Type)
	fmt.Fprintf(w, "  rule:     %s\n", ex.Reason)
	if ex.When != "" {
		fmt.Fprintf(w, "  when:     %s\n", strings.Join(strings.Fields(ex.When), " "))
	}
	if len(ex.Overlaps) > 0 {
		fmt.Fprintf(w, "  overlaps: %s (declared in the config: their locations may meet this one's)\n", strings.Join(ex.Overlaps, ", "))
	}
	if !ex.Allowed {
		if m := ex.Verdict.Match; m.Rule != "" && ex.Verdict.Reason != policy.ReasonNoGroup {
			fmt.Fprintf(w, "  matched:  %s\n", m)
		}
		return
	}
	d := ex.Decision
	if ex.Type == config.TypeGitHub {
		printGitHubDecision(w, d)
		return
	}
	fmt.Fprintf(w, "  access:   %s for %s (grant: up to %s, default %s, max %s)\n",
		d.Access, config.Duration(d.Duration), ex.MaxAccess, config.Duration(ex.DefaultDuration), config.Duration(ex.MaxDuration))
	for _, loc := range d.Locations() {
		fmt.Fprintf(w, "  location: %s\n", loc)
	}
}

// splitGroups parses -groups: comma-separated, blanks dropped.
func splitGroups(s string) []string {
	var out []string
	for g := range strings.SplitSeq(s, ",") {
		if g = strings.TrimSpace(g); g != "" {
			out = append(out, g)
		}
	}
	return out
}

// printProblems prints a config error one problem per line, each with
// the file and, where known, the line.
func printProblems(w io.Writer, path string, err error) {
	for _, e := range problems(err) {
		fmt.Fprintf(w, "%s: %v\n", path, e)
	}
}

// problems unwraps the joined list of problems inside err (config.Parse
// and policy.Compile join one error per problem), or returns err alone.
func problems(err error) []error {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			return j.Unwrap()
		}
	}
	return []error{err}
}
