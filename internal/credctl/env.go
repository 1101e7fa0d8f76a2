package credctl

import (
	"fmt"
	"strings"
)

// envLines renders a credential answer as POSIX shell lines meant for
// eval "$(credctl get GRANT --format env)". Every value is single-quoted, so
// nothing the server sends can run as shell code.
func envLines(grant string, body []byte) ([]byte, error) {
	cb, err := decodeCredentials(grant, body, false)
	if err != nil {
		return nil, err
	}
	if cb.Provider == "aws" {
		if cb, err = decodeCredentials(grant, body, true); err != nil {
			return nil, err
		}
	}
	exp, err := cb.expiry(grant)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# credserver grant %s (%s), expires %s\n", oneLine(grant), oneLine(cb.Provider), exp)
	var set [][2]string
	var unset []string
	switch cb.Provider {
	case "aws":
		cr := cb.Credentials
		set = append(set,
			[2]string{"AWS_ACCESS_KEY_ID", cr.AccessKeyID},
			[2]string{"AWS_SECRET_ACCESS_KEY", cr.SecretAccessKey})
		// A token or endpoint left over from an earlier eval would pair
		// with these keys and fail, so an absent one is unset.
		if cr.SessionToken != "" {
			set = append(set, [2]string{"AWS_SESSION_TOKEN", cr.SessionToken})
		} else {
			unset = append(unset, "AWS_SESSION_TOKEN")
		}
		if cb.Region != "" {
			// boto3 reads AWS_DEFAULT_REGION; the other AWS SDKs AWS_REGION.
			set = append(set, [2]string{"AWS_DEFAULT_REGION", cb.Region}, [2]string{"AWS_REGION", cb.Region})
		}
		if cb.EndpointURL != "" {
			set = append(set, [2]string{"AWS_ENDPOINT_URL", cb.EndpointURL})
		} else {
			unset = append(unset, "AWS_ENDPOINT_URL")
		}
	default:
		fmt.Fprintf(&b, "# credctl cannot export %s credentials as environment variables yet; use --format json\n",
			oneLine(cb.Provider))
	}
	prefix := envName(grant)
	if cb.URL != "" {
		set = append(set, [2]string{prefix + "_URL", cb.URL})
		if grant == "scratch" {
			// The hub convention: SCRATCH_BUCKET=s3://bucket/$JUPYTERHUB_USER,
			// no trailing slash, used as f"{SCRATCH_BUCKET}/file".
			set = append(set, [2]string{"SCRATCH_BUCKET", strings.TrimRight(cb.URL, "/")})
		}
	}
	set = append(set, [2]string{prefix + "_EXPIRES_AT", exp})
	for _, kv := range set {
		if strings.ContainsRune(kv[1], 0) {
			return nil, fmt.Errorf("the server's value for %s cannot be put in an environment variable", kv[0])
		}
		fmt.Fprintf(&b, "export %s=%s\n", kv[0], shellQuote(kv[1]))
	}
	for _, name := range unset {
		fmt.Fprintf(&b, "unset %s\n", name)
	}
	return []byte(b.String()), nil
}

// shellQuote quotes s for a POSIX shell: inside single quotes nothing is
// special, and an embedded single quote is written as close quote,
// backslash-quote, open quote.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// envName turns a grant name into a shell variable prefix: ASCII letters
// upper-cased, digits kept, anything else '_', and a leading '_' when the
// name would start with a digit.
func envName(grant string) string {
	var b strings.Builder
	for _, r := range grant {
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	s := b.String()
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		s = "_" + s
	}
	return s
}
