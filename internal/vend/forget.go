package vend

// Forget drops every cached credential of user under grant, whatever its
// access, duration or scope, and returns how many it dropped. It is for
// credentials that stop being the right answer before they expire: a
// GitHub user token after the user unlinks or links another account.
//
// Entries are matched by a hash of user and grant (see entry.owner): a
// false match, one chance in 2^64, drops one credential more, to be issued
// again on its next request.
//
// A call to the upstream already in flight for that user and grant may
// still store its answer afterwards. Forget walks the whole cache: it is
// meant for rare events, not the request path.
func (c *Cache) Forget(user, grant string) int {
	n := 0
	o := c.owner(user, grant)
	for _, k := range c.entries.Keys() {
		if e, ok := c.entries.Peek(k); ok && e.owner == o && c.entries.Remove(k) {
			n++
		}
	}
	return n
}
