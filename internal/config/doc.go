// Package config reads credserver's YAML configuration file.
//
// Loading has two steps, parse and validate, and the result is a plain
// [Config] that the rest of the server compiles (package policy) or wires
// into clients. Parsing is strict: an unknown key, a wrong type, a
// duplicate key or a second YAML document is an error, because a typo in
// an access policy must never silently widen or narrow what users get.
// Validation then checks the cross-field rules (a grant names a configured
// provider, durations are within the limits of the upstream services,
// prefix templates are safe, `when` conditions type-check as CEL bool
// expressions, and no grant undoes per-user isolation by accident: see
// Grant.Shared) and reports every problem at once, each prefixed with the
// line it concerns, so that `credserver check` gives an admin the whole
// list in one run.
//
// Secrets never sit in the file: providers name files (the *_file keys)
// that their own packages read. This package never opens them, so a config
// can be checked on a machine that does not hold the secrets.
package config
