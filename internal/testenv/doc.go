// Package testenv holds test infrastructure, and nothing that ships: the
// real peers the integration tests start (peers), the local stack the
// tests and `make demo` share (stack), the fake GitHub (fakegithub) and the
// store conformance suite (storetest). TestBinariesHoldNoTestInfrastructure
// keeps every package under it out of the binaries in cmd/.
package testenv
