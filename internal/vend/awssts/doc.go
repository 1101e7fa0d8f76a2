// Package awssts vends S3 credentials through STS AssumeRole, for AWS and for
// S3-compatible stores that implement STS (MinIO, Ceph RGW).
//
// Every credential carries an inline session policy generated from the
// request's bucket and prefixes (see [SessionPolicy]): without one STS would
// hand out everything the role may do. The session name and source identity
// are derived from the hub username ([SessionName]) so that CloudTrail and
// the store's audit log show who acted.
package awssts
