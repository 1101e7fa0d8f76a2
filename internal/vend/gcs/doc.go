// Package gcs vends Google Cloud Storage access tokens limited to a bucket
// and object prefixes with Credential Access Boundaries.
//
// credserver's own identity (a service-account key or Application Default
// Credentials) yields a root token; Issue exchanges it at Google's STS
// (https://sts.googleapis.com/v1/token, through golang.org/x/oauth2/google/downscope)
// for a token that carries the boundary built by [Boundary]: objects whose
// names start with one of the prefixes, and listings under them. The
// exchanged token can do no more than the root identity, and lives no
// longer than the root token, so service-account root tokens are renewed
// while they still have 40 minutes left.
//
// The exchange runs through Config.HTTPClient, so tests route it to a fake
// STS with an http.RoundTripper.
package gcs
