package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/ghapp"
	"github.com/credserver/credserver/internal/policy"
)

// printGitHubDecision describes an allowed github grant in GitHub's terms:
// which token, for which repositories, with which permissions, and how
// long GitHub lets it live (the grant's duration does not change that).
func printGitHubDecision(w io.Writer, d policy.Decision) {
	gh := d.GitHub
	if gh == nil {
		return
	}
	switch gh.Mode {
	case "installation":
		fmt.Fprintf(w, "  token:        installation token of the App's installation on %s, lives %s (fixed by GitHub)\n",
			gh.Owner, config.Duration(ghapp.InstallationTokenLife))
		fmt.Fprintf(w, "  repositories: %s (of %s, where the App is installed)\n", strings.Join(gh.Repositories, ", "), gh.Owner)
		perms := make([]string, 0, len(gh.Permissions))
		for k, v := range gh.Permissions {
			perms = append(perms, k+": "+v)
		}
		sort.Strings(perms)
		fmt.Fprintf(w, "  permissions:  %s\n", strings.Join(perms, ", "))
	default:
		fmt.Fprintf(w, "  token:        user token of the GitHub account the user linked (credctl github login), lives %s (fixed by GitHub), refreshed by credserver\n",
			config.Duration(ghapp.UserTokenLife))
		fmt.Fprintf(w, "  repositories: those the user's GitHub account can reach where the App is installed\n")
		fmt.Fprintf(w, "  permissions:  the App's, narrowed to the user's own on each repository\n")
	}
	fmt.Fprintf(w, "  location:     %s\n", d.Location)
}
