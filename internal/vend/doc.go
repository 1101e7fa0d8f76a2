// Package vend turns a policy decision into short-lived cloud credentials.
//
// A [Provider] issues one credential for a [Request] that the policy has
// already allowed; providers live in subpackages (awssts for AWS and
// S3-compatible stores) and never decide who may have what. A [Cache] sits in
// front of every provider so that a burst of identical requests, such as a
// thousand Dask workers starting at once, costs one upstream call and so that
// clients never receive a credential too close to expiry for their SDK's own
// refresh logic.
package vend
