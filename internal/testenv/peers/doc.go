// Package peers starts the real programs that credserver's integration tests
// and `make demo` talk to: JupyterHub 3 (with its configurable-http-proxy) and
// PostgreSQL 15 from Debian, a MinIO server built by scripts/install-peers.sh,
// Azurite from npm, and git http-backend.
//
// Every peer runs in its own process group on free loopback ports, keeps its
// state, configuration and log in a caller-owned directory, and is stopped as a
// whole group on Close, so a proxy or other child the peer forks never outlives
// it. Stop and Start restart a peer on the same ports with the same state, for
// tests of an upstream that goes away and comes back.
//
// Peers are looked up with Bin. Tests call Require first: without the peer
// installed the test is skipped locally and fails when the CI environment
// variable is set, so a CI run can never pass by skipping.
//
// Secrets (hub tokens, the MinIO root password) are random per start, are
// never written to a log by this package, and are redacted from the log tails
// that startup errors carry.
package peers
