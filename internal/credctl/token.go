package credctl

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"strings"
	"text/tabwriter"
)

// stringList is a repeatable string flag (--grant a --grant b).
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// token runs "credctl token create|list|revoke".
func (c *CLI) token(ctx context.Context, g globals, args []string) error {
	if len(args) == 0 {
		return usagef("token: say create, list or revoke; run 'credctl help token' for usage")
	}
	switch args[0] {
	case "create":
		return c.tokenCreate(ctx, g, args[1:])
	case "list":
		return c.tokenList(ctx, g, args[1:])
	case "revoke":
		return c.tokenRevoke(ctx, g, args[1:])
	case "-h", "-help", "--help":
		return c.flagError("token", flag.ErrHelp)
	}
	return usagef("token: unknown subcommand %q; run 'credctl help token' for usage", args[0])
}

type createdToken struct {
	ID        string   `json:"id"`
	Token     string   `json:"token"`
	Grants    []string `json:"grants"`
	Access    string   `json:"access"`
	ExpiresAt string   `json:"expires_at"`
}

func (c *CLI) tokenCreate(ctx context.Context, g globals, args []string) error {
	fs := newFlagSet("token create")
	var grants stringList
	var access, expiresIn, note, format, server string
	fs.Var(&grants, "grant", "")
	fs.StringVar(&access, "access", "", "")
	fs.StringVar(&expiresIn, "expires-in", "", "")
	fs.StringVar(&note, "note", "", "")
	fs.StringVar(&format, "format", "json", "")
	fs.StringVar(&server, "server", "", "")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return c.flagError("token", err)
	}
	switch {
	case len(pos) > 0:
		return usagef("token create: unexpected argument %q (grants go in --grant)", pos[0])
	case len(grants) == 0:
		return usagef("token create: name at least one --grant")
	case format != "json" && format != "env":
		return usagef("token create: --format must be json or env")
	}
	cl, err := c.connect(g.pick(server))
	if err != nil {
		return err
	}
	req := map[string]any{"grants": []string(grants)}
	if access != "" {
		req["access"] = access
	}
	if expiresIn != "" {
		req["expires_in"] = expiresIn
	}
	if note != "" {
		req["note"] = note
	}
	reqBody, err := json.Marshal(req)
	if err != nil {
		return err
	}
	body, err := cl.sendBody(ctx, http.MethodPost, "/v1/tokens", nil, reqBody)
	if err != nil {
		return err
	}
	if format == "json" {
		out, err := prettyJSON(body)
		if err != nil {
			return err
		}
		return c.print(string(out))
	}
	var t createdToken
	if err := json.Unmarshal(body, &t); err != nil || !strings.HasPrefix(t.Token, "csd_") || strings.ContainsAny(t.Token, " \t\r\n'\"") {
		return fmt.Errorf("the server's answer to token create is malformed")
	}
	return c.print(fmt.Sprintf("CREDSERVER_URL=%s\nCREDSERVER_TOKEN=%s\n", cl.BaseURL.String(), t.Token))
}

type tokenList struct {
	Tokens []struct {
		ID         string   `json:"id"`
		Grants     []string `json:"grants"`
		Access     string   `json:"access"`
		ExpiresAt  string   `json:"expires_at"`
		Note       string   `json:"note"`
		CreatedAt  string   `json:"created_at"`
		LastUsedAt *string  `json:"last_used_at"`
	} `json:"tokens"`
}

func (c *CLI) tokenList(ctx context.Context, g globals, args []string) error {
	cl, asJSON, err := c.jsonCommand(g, "token list", "token", args)
	if err != nil {
		return err
	}
	body, err := cl.get(ctx, "/v1/tokens", nil)
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
	var l tokenList
	if err := json.Unmarshal(body, &l); err != nil {
		return fmt.Errorf("the server's token list is malformed: %v", err)
	}
	if len(l.Tokens) == 0 {
		return c.print("no delegation tokens; create one with 'credctl token create --grant G'\n")
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tGRANTS\tACCESS\tEXPIRES\tLAST USED\tNOTE")
	for _, t := range l.Tokens {
		used := "never"
		if t.LastUsedAt != nil {
			used = clean(*t.LastUsedAt)
		}
		grants := make([]string, len(t.Grants))
		for i, gr := range t.Grants {
			grants[i] = clean(gr)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", clean(t.ID), strings.Join(grants, ","), clean(t.Access), clean(t.ExpiresAt), used, clean(t.Note))
	}
	tw.Flush()
	return c.print(b.String())
}

func (c *CLI) tokenRevoke(ctx context.Context, g globals, args []string) error {
	fs := newFlagSet("token revoke")
	var server string
	fs.StringVar(&server, "server", "", "")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return c.flagError("token", err)
	}
	if len(pos) != 1 || pos[0] == "" {
		return usagef("token revoke: name exactly one token ID ('credctl token list' shows them)")
	}
	cl, err := c.connect(g.pick(server))
	if err != nil {
		return err
	}
	if _, err := cl.send(ctx, http.MethodDelete, "/v1/tokens/"+escapeSegment(pos[0]), nil); err != nil {
		return err
	}
	return c.print("revoked " + clean(pos[0]) + "\n")
}
