package credctl

import (
	"encoding/json"
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
		gset, gunset := gdalEnv(cb.EndpointURL)
		set, unset = append(set, gset...), append(unset, gunset...)
	case "gcs", "azure":
		vars, gone, err := storageEnv(grant, cb.Provider, body)
		if err != nil {
			return nil, err
		}
		set, unset = append(set, vars...), append(unset, gone...)
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

// storageBody holds the gcs and azure fields envLines exports.
type storageBody struct {
	AccessToken string `json:"access_token"`
	SASToken    string `json:"sas_token"`
	AccountName string `json:"account_name"`
	AccountURL  string `json:"account_url"`
}

// storageEnv returns the variables for a gcs or azure answer, and those to
// unset. gcsfs reads no token from the environment:
// GOOGLE_OAUTH_ACCESS_TOKEN is the name Terraform and other Google tools
// read, for GCSFileSystem(token=Credentials(os.environ[...])). adlfs and the
// az CLI read AZURE_STORAGE_SAS_TOKEN with AZURE_STORAGE_ACCOUNT_NAME (adlfs)
// or AZURE_STORAGE_ACCOUNT (az); both prefer a connection string or account
// key over the SAS, so leftovers of those are unset.
func storageEnv(grant, provider string, body []byte) (set [][2]string, unset []string, err error) {
	var sb storageBody
	if err := json.Unmarshal(body, &sb); err != nil {
		return nil, nil, fmt.Errorf("the server's answer for %s grant %q is malformed: %v", provider, grant, err)
	}
	if provider == "gcs" {
		if sb.AccessToken == "" {
			return nil, nil, fmt.Errorf("the server's answer for grant %q has no access token", grant)
		}
		return [][2]string{{"GOOGLE_OAUTH_ACCESS_TOKEN", sb.AccessToken}}, nil, nil
	}
	if sb.SASToken == "" {
		return nil, nil, fmt.Errorf("the server's answer for grant %q has no SAS token", grant)
	}
	set = append(set, [2]string{"AZURE_STORAGE_SAS_TOKEN", sb.SASToken})
	if sb.AccountName != "" {
		set = append(set, [2]string{"AZURE_STORAGE_ACCOUNT_NAME", sb.AccountName}, [2]string{"AZURE_STORAGE_ACCOUNT", sb.AccountName})
	}
	if sb.AccountURL != "" {
		set = append(set, [2]string{"AZURE_STORAGE_ACCOUNT_URL", sb.AccountURL})
	}
	return set, []string{"AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_KEY"}, nil
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
