package cond

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/interpreter"
)

// CostLimit bounds one evaluation, in CEL's cost units (about one per
// operation: a comparison, a field access, one step of a comprehension).
// A membership test or an exists() over a few thousand groups stays well
// below it; an expression nesting comprehensions over the groups reaches
// it within milliseconds and fails, instead of stalling the request.
const CostLimit = 10_000

// MaxLength is the longest condition, in characters, Compile accepts.
const MaxLength = 4096

// User is the caller as a condition sees it.
type User struct {
	Name   string
	Groups []string
	Admin  bool
}

// Request is what the caller asks: Access is "read" or "readwrite",
// Duration the lifetime, both after the grant's defaults are applied.
type Request struct {
	Access   string
	Duration time.Duration
}

// Grant is the grant being decided.
type Grant struct {
	Name string
}

// Input is everything a condition may look at.
type Input struct {
	User    User
	Request Request
	Grant   Grant
}

// env is the one CEL environment every condition is compiled in. It is
// immutable once built and safe for concurrent use.
//
// The variables are declared by their qualified names: CEL resolves
// "user.name" to the declared "user.name" at check time, so each field
// has its own static type, a typo is "undeclared reference to
// 'user.nmae' (did you mean 'user.name'?)", and evaluation hands over
// ready CEL values instead of reflecting over Go structs on every access.
var env = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("user.name", cel.StringType),
		cel.Variable("user.groups", cel.ListType(cel.StringType)),
		cel.Variable("user.admin", cel.BoolType),
		cel.Variable("request.access", cel.StringType),
		cel.Variable("request.duration", cel.DurationType),
		cel.Variable("grant.name", cel.StringType),
		cel.ParserExpressionSizeLimit(MaxLength),
		cel.ParserRecursionLimit(64),
	)
})

// Condition is a compiled, type-checked condition. It is immutable and
// safe for concurrent use.
type Condition struct {
	expr string
	prog cel.Program
}

// Issue is one problem in a condition's source. Line and Column are
// 1-based and relative to the expression; 0 when unknown.
type Issue struct {
	Line, Column int
	Msg          string
}

// Error lists the problems that kept an expression from compiling.
type Error struct {
	Issues []Issue
}

// Error returns the issues as "line:column: message", joined by "; ".
func (e *Error) Error() string {
	parts := make([]string, len(e.Issues))
	for i, is := range e.Issues {
		parts[i] = is.String()
	}
	return strings.Join(parts, "; ")
}

// String returns "line:column: message", or the message alone when the
// position is unknown.
func (is Issue) String() string {
	if is.Line > 0 {
		return fmt.Sprintf("%d:%d: %s", is.Line, is.Column, is.Msg)
	}
	return is.Msg
}

// Check parses and type-checks expr without preparing it for evaluation,
// for validating a config. A problem with expr is an *[Error].
func Check(expr string) error {
	_, _, err := check(expr)
	return err
}

// Compile parses and type-checks expr and prepares it for evaluation. A
// problem with expr is an *[Error]; Compile never panics on any input.
func Compile(expr string) (*Condition, error) {
	e, ast, err := check(expr)
	if err != nil {
		return nil, err
	}
	prog, err := e.Program(ast, cel.CostLimit(CostLimit), cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, &Error{Issues: []Issue{{Msg: err.Error()}}}
	}
	return &Condition{expr: expr, prog: prog}, nil
}

func check(expr string) (e *cel.Env, ast *cel.Ast, err error) {
	defer func() {
		// The parser is generated code; a crash on a hostile string
		// must reject the config, not take the server down.
		if r := recover(); r != nil {
			e, ast, err = nil, nil, &Error{Issues: []Issue{{Msg: fmt.Sprintf("the expression could not be compiled (%v)", r)}}}
		}
	}()
	e, err = env()
	if err != nil {
		return nil, nil, fmt.Errorf("cond: building the CEL environment: %w", err)
	}
	if strings.TrimSpace(expr) == "" {
		return nil, nil, &Error{Issues: []Issue{{Msg: "the condition is empty; remove when, or write an expression such as user.admin"}}}
	}
	ast, iss := e.Compile(expr)
	if iss.Err() != nil {
		return nil, nil, issuesError(iss)
	}
	if t := ast.OutputType(); !t.IsExactType(types.BoolType) {
		return nil, nil, &Error{Issues: []Issue{{Line: 1, Column: 1,
			Msg: fmt.Sprintf("the condition must be a bool expression, not %s", t)}}}
	}
	return e, ast, nil
}

func issuesError(iss *cel.Issues) error {
	var out []Issue
	for _, e := range iss.Errors() {
		is := Issue{Msg: e.Message}
		if l := e.Location; l != nil && l.Line() > 0 {
			is.Line, is.Column = l.Line(), l.Column()+1
		}
		out = append(out, is)
	}
	if len(out) == 0 {
		out = append(out, Issue{Msg: iss.Err().Error()})
	}
	return &Error{Issues: out}
}

// String returns the source of the condition.
func (c *Condition) String() string { return c.expr }

// ErrEval wraps every evaluation failure: a run-time error in the
// expression or the cost limit reached.
var ErrEval = errors.New("condition could not be evaluated")

// Eval evaluates the condition on in. An error wraps [ErrEval] and means
// the condition neither held nor failed to hold: callers deny.
func (c *Condition) Eval(in *Input) (ok bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			ok, err = false, fmt.Errorf("%w: %v", ErrEval, r)
		}
	}()
	out, _, err := c.prog.Eval(activation{in})
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrEval, err)
	}
	b, isBool := out.Value().(bool)
	if !isBool {
		return false, fmt.Errorf("%w: result %v is not a bool", ErrEval, out)
	}
	return b, nil
}

// activation resolves the three variables without building a map.
type activation struct{ in *Input }

func (a activation) ResolveName(name string) (any, bool) {
	switch name {
	case "user.name":
		return types.String(a.in.User.Name), true
	case "user.groups":
		return types.NewStringList(types.DefaultTypeAdapter, a.in.User.Groups), true
	case "user.admin":
		return types.Bool(a.in.User.Admin), true
	case "request.access":
		return types.String(a.in.Request.Access), true
	case "request.duration":
		return types.Duration{Duration: a.in.Request.Duration}, true
	case "grant.name":
		return types.String(a.in.Grant.Name), true
	}
	return nil, false
}

func (a activation) Parent() interpreter.Activation { return nil }
