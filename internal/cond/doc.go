// Package cond compiles and evaluates the CEL conditions that grants carry
// in their `when` key.
//
// A condition sees three variables:
//
//	user.name      string              the hub user name
//	user.groups    list(string)        the user's hub groups
//	user.admin     bool                the hub's admin flag
//	request.access string              "read" or "readwrite", as resolved
//	request.duration duration          the lifetime asked, or the grant's default
//	grant.name     string              the grant's name
//
// and must be of type bool, which [Compile] checks once, when the config is
// loaded. Evaluation is bounded by [CostLimit]: an expression that would
// cost more, or that fails at run time (a missing value, an overflow), is
// an error, and the caller denies (fail closed).
//
// The CEL environment is the standard library only: no extensions, no
// functions that reach outside the process, so a condition can neither do
// I/O nor observe anything but its input.
package cond
