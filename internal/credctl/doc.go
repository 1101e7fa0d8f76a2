// Package credctl is the client CLI that runs inside a user's notebook server:
// it presents the user's JupyterHub token to credserver and turns the answer
// into what local tools consume — botocore's credential_process JSON, shell
// export lines, or a profile in ~/.aws/config.
//
// Everything a command touches (streams, environment, HTTP client, the
// executable's path, the home directory) is a field of [CLI], so tests drive
// the real command paths against an httptest server and a temp directory.
//
// Contract kept by every command: secrets are written only to stdout; any
// failure is one line on stderr starting with "credctl: " and never contains
// the token; exit status 0 is success, 1 a server, network or file error, and
// 2 a usage error (bad flags, missing CREDSERVER_URL or token).
package credctl
