package vend

import (
	"strconv"
	"strings"
)

// Forget drops every cached credential of user under grant, whatever its
// access, duration or scope, and returns how many it dropped. It is for
// credentials that stop being the right answer before they expire: a
// GitHub user token after the user unlinks or links another account.
//
// A call to the upstream already in flight for that user and grant may
// still store its answer afterwards. Forget walks the whole cache: it is
// meant for rare events, not the request path.
func (c *Cache) Forget(user, grant string) int {
	prefix := keyPrefix(user, grant)
	n := 0
	for _, k := range c.entries.Keys() {
		if strings.HasPrefix(k, prefix) && c.entries.Remove(k) {
			n++
		}
	}
	return n
}

// keyPrefix is how every [Key] of user and grant begins: Key writes the
// user and the grant first, each length-prefixed, so the prefix of one
// (user, grant) never matches the key of another.
func keyPrefix(user, grant string) string {
	var b strings.Builder
	for _, s := range []string{user, grant} {
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
		b.WriteByte(0)
	}
	return b.String()
}
