package cond_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/credserver/credserver/internal/cond"
)

func input() *cond.Input {
	return &cond.Input{
		User:    cond.User{Name: "alice", Groups: []string{"staff", "proj-a"}, Admin: false},
		Request: cond.Request{Access: "read", Duration: 30 * time.Minute},
		Grant:   cond.Grant{Name: "course-repos"},
	}
}

func TestEval(t *testing.T) {
	tests := []struct {
		expr string
		edit func(*cond.Input)
		want bool
	}{
		{expr: `request.duration <= duration("1h")`, want: true},
		{expr: `request.duration <= duration("1h")`, edit: func(in *cond.Input) { in.Request.Duration = 2 * time.Hour }, want: false},
		{expr: `request.duration == duration("30m")`, want: true},
		{expr: `user.name == "alice"`, want: true},
		{expr: `user.name == "alice"`, edit: func(in *cond.Input) { in.User.Name = "alice2" }, want: false},
		{expr: `"staff" in user.groups`, want: true},
		{expr: `"staff" in user.groups`, edit: func(in *cond.Input) { in.User.Groups = nil }, want: false},
		{expr: `user.groups.exists(g, g.startsWith("proj-"))`, want: true},
		{expr: `size(user.groups) == 2`, want: true},
		{expr: `user.admin`, want: false},
		{expr: `user.admin`, edit: func(in *cond.Input) { in.User.Admin = true }, want: true},
		{expr: `request.access == "read"`, want: true},
		{expr: `request.access == "read"`, edit: func(in *cond.Input) { in.Request.Access = "readwrite" }, want: false},
		{expr: `grant.name == "course-repos"`, want: true},
		{expr: "user.admin ||\n  request.access == 'read'", want: true},
		{expr: `user.name.matches("^a[a-z]+$")`, want: true},
	}
	for _, tt := range tests {
		in := input()
		if tt.edit != nil {
			tt.edit(in)
		}
		t.Run(tt.expr, func(t *testing.T) {
			c, err := cond.Compile(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Eval(in)
			if err != nil || got != tt.want {
				t.Errorf("Eval() = %v, %v; want %v", got, err, tt.want)
			}
			if c.String() != tt.expr {
				t.Errorf("String() = %q", c.String())
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		expr     string
		wantLine int
		wantCol  int
		wantMsg  string
	}{
		{`user.nmae == "x"`, 1, 5, `undeclared reference to 'user.nmae' (did you mean 'user.name'?)`},
		{`reqest.duration < duration("1h")`, 1, 7, `undeclared reference to 'reqest.duration'`},
		{`user.name`, 1, 1, "must be a bool expression, not string"},
		{`request.duration + 1 > 0`, 1, 18, "found no matching overload for '_+_'"},
		{"user.admin &&\n  request.access ==", 2, 20, "Syntax error"},
		{`user.admin && env("HOME") == ""`, 1, 18, "undeclared reference to 'env'"},
		{"", 0, 0, "the condition is empty"},
		{"  ", 0, 0, "the condition is empty"},
		{"true || " + strings.Repeat("true || ", cond.MaxLength/8) + "true", 0, 0, "exceeds"},
	}
	for _, tt := range tests {
		t.Run(tt.wantMsg, func(t *testing.T) {
			for _, compile := range []func(string) error{
				cond.Check,
				func(s string) error { _, err := cond.Compile(s); return err },
			} {
				err := compile(tt.expr)
				var ce *cond.Error
				if !errors.As(err, &ce) || len(ce.Issues) == 0 {
					t.Fatalf("error = %v, want a *cond.Error", err)
				}
				is := ce.Issues[0]
				if (tt.wantLine != 0 && (is.Line != tt.wantLine || is.Column != tt.wantCol)) || !strings.Contains(is.Msg, tt.wantMsg) {
					t.Errorf("issue = %+v, want %d:%d %q", is, tt.wantLine, tt.wantCol, tt.wantMsg)
				}
			}
		})
	}
}

// TestEvalFailsClosed: a run-time error and the cost limit are errors,
// never a true.
func TestEvalFailsClosed(t *testing.T) {
	many := make([]string, 60)
	for i := range many {
		many[i] = strings.Repeat("g", i+1)
	}
	tests := []struct {
		name, expr string
		groups     []string
		wantMsg    string
	}{
		{"index out of range", `user.groups[5] == "x"`, []string{"a"}, "index out of bounds"},
		{"division by zero", `1 / (size(user.groups) - 1) == 1`, []string{"a"}, "division by zero"},
		{"cost limit", `user.groups.all(a, user.groups.all(b, user.groups.all(c, a + b + c != "")))`, many, "cost limit exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := cond.Compile(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			in := input()
			in.User.Groups = tt.groups
			start := time.Now()
			got, err := c.Eval(in)
			if got || !errors.Is(err, cond.ErrEval) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Eval() = %v, %v; want false and %q", got, err, tt.wantMsg)
			}
			t.Logf("%s: failed after %v", tt.name, time.Since(start))
		})
	}
}

// FuzzCompile: no expression makes Compile or Eval panic, and whatever
// compiles evaluates to a bool or an ErrEval.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		`request.duration <= duration("1h")`, `user.groups.exists(g, g == "a")`, `user.name.matches("(")`,
		`"a" in user.groups && !user.admin`, `duration("-9999999999999h") < request.duration`, `[[[[`,
		`user.groups.map(g, g + g).size() > 3`, "\xff", `grant.name == request.access`,
	} {
		f.Add(s, "alice", "g")
	}
	f.Fuzz(func(t *testing.T, expr, name, group string) {
		c, err := cond.Compile(expr)
		if err != nil {
			var ce *cond.Error
			if !errors.As(err, &ce) {
				t.Fatalf("Compile(%q) error %v is not a *cond.Error", expr, err)
			}
			return
		}
		in := input()
		in.User.Name, in.User.Groups = name, []string{group, name}
		if _, err := c.Eval(in); err != nil && !errors.Is(err, cond.ErrEval) {
			t.Fatalf("Eval(%q) error %v does not wrap ErrEval", expr, err)
		}
	})
}
