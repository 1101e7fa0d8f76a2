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
// # The decision and the hot path
//
// [Policy.Check] is the decision: the grant by name (a map), the allow
// rules (exact names in short slices or maps, "lit*" and "*lit" patterns
// by prefix and suffix, other globs by a non-allocating matcher), the
// condition, then the bounds. It returns a [Verdict] naming the rule
// that decided and allocates nothing unless the grant has a condition.
// [Policy.Decide] adds the location: nothing more for a fixed prefix,
// and for {user} nothing more either once the grant remembers the
// user's location (a bounded memo, locatedMemo); building it costs two
// allocations. [Policy.Grants] (whoami) tries
// only the grants indexed under the user's name and groups (exactly or
// by a "lit*" prefix) and those with other patterns.
//
// The order of checks is fixed and fails closed: the grant must exist,
// an allow rule must match (a {group} prefix also needs a matching
// group), the access asked must be read or readwrite, the condition must
// hold, and the access and duration must be within the grant's bounds.
// A user refused by the first rules learns nothing about the bounds.
//
// # Conditions
//
// A grant's `when` is a CEL expression (package cond) over user.name,
// user.groups, user.admin, request.access, request.duration and
// grant.name, type-checked and compiled once by [Compile]. It is
// evaluated after the allow rules, with the request's access and
// duration after defaults, under a cost limit; an evaluation error
// denies, with the reason in the error (ReasonConditionError).
//
// # Azure containers
//
// {user} in an azure container template expands to [ContainerSegment],
// a 3-40 character lowercase form that keeps ordinary names as they are
// and encodes the rest with a hash, so "scratch-{user}" is a valid
// container name for every user and no two users share a container.
package policy
