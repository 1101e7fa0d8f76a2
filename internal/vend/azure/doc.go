// Package azure vends Azure Blob Storage service SAS tokens signed with the
// storage account key, through the Azure SDK's sas package.
//
// A SAS on a flat-namespace account narrows to a container (or a single
// blob), never to a prefix, so per-user isolation there is a container per
// user, created on first use when the grant says create: true. On an
// account with a hierarchical namespace (ADLS Gen2) a directory SAS
// (sr=d, with its depth sdd) narrows to the prefix inside a shared
// container. Tokens start five minutes in the past, to absorb clock skew,
// and are HTTPS-only unless the blob endpoint itself is plain HTTP
// (Azurite).
//
// Signing is local; the only call to Azure is container creation.
// User-delegation SAS (signed with an Azure AD key instead of the account
// key) is not implemented.
package azure
