package credctl

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
)

// whoamiBody is GET /v1/whoami. Access and max_duration are kept raw so a
// list or a number of seconds renders instead of failing the command.
type whoamiBody struct {
	User   string   `json:"user"`
	Groups []string `json:"groups"`
	Admin  bool     `json:"admin"`
	Grants []struct {
		Name        string          `json:"name"`
		Provider    string          `json:"provider"`
		Access      json.RawMessage `json:"access"`
		Location    string          `json:"location"`
		MaxDuration json.RawMessage `json:"max_duration"`
	} `json:"grants"`
	GitHub *struct {
		Linked bool `json:"linked"`
		// Status is "unknown" when the server could not read the link
		// (its database is down); older servers do not send it.
		Status    string `json:"status"`
		Login     string `json:"login"`
		ExpiresAt string `json:"expires_at"`
	} `json:"github"`
}

func (c *CLI) whoami(ctx context.Context, g globals, args []string) error {
	cl, asJSON, err := c.jsonCommand(g, "whoami", "whoami", args)
	if err != nil {
		return err
	}
	body, err := cl.Whoami(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		out, err := prettyJSON(body)
		if err != nil {
			return err
		}
		return c.print(string(out))
	}
	var w whoamiBody
	if err := json.Unmarshal(body, &w); err != nil {
		return fmt.Errorf("the server's whoami answer is malformed: %v", err)
	}
	return c.print(w.render())
}

// render is the human view. Every server string passes through clean so a
// name cannot carry terminal escapes.
func (w *whoamiBody) render() string {
	var b strings.Builder
	fmt.Fprintf(&b, "user:    %s\n", clean(w.User))
	groups := make([]string, len(w.Groups))
	for i, g := range w.Groups {
		groups[i] = clean(g)
	}
	if len(groups) == 0 {
		groups = []string{"-"}
	}
	fmt.Fprintf(&b, "groups:  %s\n", strings.Join(groups, ", "))
	if w.Admin {
		b.WriteString("admin:   yes\n")
	}
	if w.GitHub != nil {
		switch {
		case w.GitHub.Status == "unknown":
			b.WriteString("github:  unknown (the server cannot read links right now; try again shortly)\n")
		case !w.GitHub.Linked:
			b.WriteString("github:  not linked\n")
		case w.GitHub.ExpiresAt != "":
			fmt.Fprintf(&b, "github:  linked as %s (until %s)\n", clean(w.GitHub.Login), clean(w.GitHub.ExpiresAt))
		default:
			fmt.Fprintf(&b, "github:  linked as %s\n", clean(w.GitHub.Login))
		}
	}
	if len(w.Grants) == 0 {
		b.WriteString("grants:  none; ask your hub admin\n")
		return b.String()
	}
	b.WriteString("grants:\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tPROVIDER\tACCESS\tLOCATION\tMAX DURATION")
	for _, gr := range w.Grants {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", clean(gr.Name), clean(gr.Provider),
			rawText(gr.Access), clean(gr.Location), rawText(gr.MaxDuration))
	}
	tw.Flush()
	return b.String()
}

// clean makes a server string safe for a table cell: no control characters
// or tabs, and "-" for empty.
func clean(s string) string {
	s = oneLine(s)
	if s == "" {
		return "-"
	}
	return s
}

// rawText renders a string, a list of strings, or a number as text.
func rawText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return clean(s)
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		for i := range list {
			list[i] = clean(list[i])
		}
		return clean(strings.Join(list, ","))
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return "-"
}

// jsonCommand parses the flags of a command that takes only --json and
// --server (name as the user types it, help the help topic) and connects.
func (c *CLI) jsonCommand(g globals, name, help string, args []string) (cl *Client, asJSON bool, err error) {
	fs := newFlagSet(name)
	var server string
	fs.BoolVar(&asJSON, "json", false, "")
	fs.StringVar(&server, "server", "", "")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, false, c.flagError(help, err)
	}
	if len(pos) > 0 {
		return nil, false, usagef("%s: unexpected argument %q", name, pos[0])
	}
	cl, err = c.connect(g.pick(server))
	return cl, asJSON, err
}
