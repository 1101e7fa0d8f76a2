package credctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"
)

func (c *CLI) github(ctx context.Context, g globals, args []string) error {
	if len(args) == 0 {
		return usagef("github: which subcommand? usage: credctl github login [--force] | logout")
	}
	switch args[0] {
	case "login":
		return c.githubLogin(ctx, g, args[1:])
	case "logout":
		return c.githubLogout(ctx, g, args[1:])
	}
	return usagef("github: unknown subcommand %q; use login or logout", args[0])
}

// githubFlags are the flags of the github subcommands.
type githubFlags struct {
	force         bool
	grant, server string
}

func (c *CLI) parseGitHubFlags(cmd string, args []string, withForce bool) (githubFlags, error) {
	fs := newFlagSet(cmd)
	var f githubFlags
	if withForce {
		fs.BoolVar(&f.force, "force", false, "")
	}
	fs.StringVar(&f.grant, "grant", "", "")
	fs.StringVar(&f.server, "server", "", "")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return f, c.flagError("github", err)
	}
	if len(pos) > 0 {
		return f, usagef("%s: unexpected argument %q", cmd, pos[0])
	}
	return f, nil
}

// githubLogin links the user's GitHub account through the server's device
// flow, then points git's credential helper for that GitHub at credctl.
func (c *CLI) githubLogin(ctx context.Context, g globals, args []string) error {
	f, err := c.parseGitHubFlags("github login", args, true)
	if err != nil {
		return err
	}
	server := g.pick(f.server)
	cl, err := c.connect(server)
	if err != nil {
		return err
	}
	who, err := cl.whoamiParsed(ctx)
	if err != nil {
		return err
	}
	grant, web, err := who.githubGrant(f.grant)
	if err != nil {
		return err
	}
	if who.GitHub != nil && who.GitHub.Linked && !f.force {
		if err := c.configureGit(ctx, web, grant, server, cl); err != nil {
			return err
		}
		return c.print(fmt.Sprintf("Already linked to GitHub as %s; git uses credctl for %s.\nRun 'credctl github login --force' to link again.\n",
			clean(who.GitHub.Login), web))
	}
	var start struct {
		LoginID         string `json:"login_id"`
		UserCode        string `json:"user_code"`
		VerificationURI string `json:"verification_uri"`
		ExpiresAt       string `json:"expires_at"`
		Interval        int    `json:"interval"`
		WebURL          string `json:"web_url"`
		AppURL          string `json:"app_url"`
	}
	body, err := cl.send(ctx, http.MethodPost, "/v1/github/login", url.Values{"grant": {grant}})
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, &start); err != nil || start.LoginID == "" || start.UserCode == "" {
		return fmt.Errorf("the server's answer to the GitHub login is malformed")
	}
	expires, err := time.Parse(time.RFC3339, start.ExpiresAt)
	if err != nil {
		expires = time.Now().Add(15 * time.Minute)
	}
	if start.WebURL != "" {
		web = start.WebURL
	}
	if err := c.print(fmt.Sprintf("To link your GitHub account, open\n\n    %s\n\nand enter the code\n\n    %s\n\n",
		clean(start.VerificationURI), clean(start.UserCode))); err != nil {
		return err
	}
	login, err := c.waitForApproval(ctx, cl, start.LoginID, expires, time.Duration(start.Interval)*time.Second)
	if err != nil {
		return err
	}
	if err := c.configureGit(ctx, web, grant, server, cl); err != nil {
		return fmt.Errorf("linked to GitHub as %s, but %w", clean(login), err)
	}
	msg := fmt.Sprintf("Linked to GitHub as %s. git now fetches tokens from credserver for %s.\n", clean(login), web)
	if start.AppURL != "" {
		msg += fmt.Sprintf("\nThe tokens reach only repositories where the hub's GitHub App is installed.\nInstall it on yours (or ask their owner to) at\n\n    %s\n",
			clean(start.AppURL))
	}
	return c.print(msg)
}

// waitForApproval polls the login until it ends, showing a countdown on a
// terminal. It returns the GitHub login.
func (c *CLI) waitForApproval(ctx context.Context, cl *Client, id string, expires time.Time, interval time.Duration) (string, error) {
	tty := isTerminal(c.Stdout)
	if !tty {
		if err := c.print(fmt.Sprintf("Waiting for approval (the code expires in %s)...\n", left(time.Until(expires)))); err != nil {
			return "", err
		}
	}
	for {
		interval = max(interval, time.Second)
		for end := time.Now().Add(interval); time.Now().Before(end); {
			if tty {
				fmt.Fprintf(c.Stdout, "\rWaiting for approval... %s left ", left(time.Until(expires)))
			}
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(min(time.Second, time.Until(end))):
			}
		}
		if tty {
			fmt.Fprint(c.Stdout, "\r\033[K")
		}
		body, err := cl.send(ctx, http.MethodGet, "/v1/github/login/"+escapeSegment(id), nil)
		if err != nil {
			return "", err
		}
		var st struct {
			Status   string `json:"status"`
			Login    string `json:"login"`
			Interval int    `json:"interval"`
		}
		if err := json.Unmarshal(body, &st); err != nil {
			return "", fmt.Errorf("the server's login status is malformed")
		}
		switch st.Status {
		case "complete":
			return st.Login, nil
		case "expired":
			return "", errors.New("the code expired before it was approved; run 'credctl github login' again")
		case "denied":
			return "", errors.New("the login was cancelled at GitHub; run 'credctl github login' to try again")
		case "pending":
		default:
			return "", fmt.Errorf("the server reports the login as %q", clean(st.Status))
		}
		if st.Interval > 0 {
			interval = time.Duration(st.Interval) * time.Second
		}
		if time.Now().After(expires.Add(30 * time.Second)) {
			return "", errors.New("the code expired before it was approved; run 'credctl github login' again")
		}
	}
}

func left(d time.Duration) string {
	d = max(d, 0).Round(time.Second)
	return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

// isTerminal reports whether w is a character device (a terminal), where
// the countdown may rewrite its line.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// githubLogout forgets (and revokes) the link at the server. The git
// configuration stays: git then reports that the link is gone.
func (c *CLI) githubLogout(ctx context.Context, g globals, args []string) error {
	f, err := c.parseGitHubFlags("github logout", args, false)
	if err != nil {
		return err
	}
	cl, err := c.connect(g.pick(f.server))
	if err != nil {
		return err
	}
	var q url.Values
	if f.grant != "" {
		q = url.Values{"grant": {f.grant}}
	}
	body, err := cl.send(ctx, http.MethodDelete, "/v1/github/link", q)
	if err != nil {
		return err
	}
	var res struct {
		WasLinked bool `json:"was_linked"`
		Revoked   bool `json:"revoked"`
	}
	_ = json.Unmarshal(body, &res)
	switch {
	case !res.WasLinked:
		return c.print("Your hub account was not linked to GitHub.\n")
	case res.Revoked:
		return c.print("Unlinked from GitHub; the authorization was revoked at GitHub too.\n")
	}
	return c.print("Unlinked from GitHub. To revoke the app's access at GitHub too, see your GitHub settings (Applications).\n")
}
