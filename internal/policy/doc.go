// Package policy turns a validated config into a compiled, immutable
// [Policy] and answers one question: may this user have this grant, with
// this access and for this long, and if so where exactly.
//
// The evaluator does no I/O, so the server can call it on every request
// and tests can cover it completely. Compile does all the work that does
// not depend on the request: exact user and group names go into maps,
// glob patterns are checked once, prefix templates are split into their
// literal parts.
//
// # Not found versus forbidden
//
// A grant name that is not in the policy is [ErrUnknownGrant] (the server
// answers 404). A grant that exists but that the user may not use is
// [ErrNotAllowed] (403). Grant names are not secret: they are chosen by
// the admin and listed in the hub's documentation, and telling "you may
// not" apart from "no such thing" saves users and admins a support round
// trip. [Policy.Grants] still lists only the grants a user may ask for.
//
// # User path segments
//
// [UserSegment] is the one place where a hub user name becomes part of a
// storage path. It is injective and its output is inert in paths, IAM
// policies, CEL strings and globs; prefixes always end in "/", so the
// prefix of user "alice" never covers the data of "alice2".
//
// # Conditions
//
// A grant's `when` condition (CEL) is not evaluated yet. Until it is, a
// grant with a condition is refused to everyone (fail closed) rather
// than granted without its condition.
package policy
