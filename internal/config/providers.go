package config

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// field is one provider key: its name, whether it is set, and the provider
// types it applies to.
type field struct {
	key   string
	set   bool
	types []string
}

func (v *validator) provider(name string, p Provider) {
	path := "providers." + name
	subj := fmt.Sprintf("providers.%s", name)
	if !nameRE.MatchString(name) {
		v.errorf(path, "provider name %q must be 1-63 lowercase letters, digits, '_' or '-', starting with a letter or digit", name)
	}
	switch p.Type {
	case TypeAWS, TypeGCS, TypeAzure, TypeGitHub:
	case "":
		v.errorf(path, "%s: type is required (aws, gcs, azure or github)", subj)
		return
	default:
		v.errorf(path+".type", "%s: type %q must be aws, gcs, azure or github", subj, p.Type)
		return
	}
	aws, azure, gh := []string{TypeAWS}, []string{TypeAzure}, []string{TypeGitHub}
	for _, f := range []field{
		{"region", p.Region != "", aws},
		{"role_arn", p.RoleARN != "", aws},
		{"sts_endpoint", p.STSEndpoint != "", aws},
		{"s3_endpoint", p.S3Endpoint != "", aws},
		{"credentials_file", p.CredentialsFile != "", []string{TypeGCS}},
		{"account_name", p.AccountName != "", azure},
		{"account_key_file", p.AccountKeyFile != "", azure},
		{"blob_endpoint", p.BlobEndpoint != "", azure},
		{"hierarchical_namespace", p.HierarchicalNamespace, azure},
		{"app_id", p.AppID != 0, gh},
		{"client_id", p.ClientID != "", gh},
		{"private_key_file", p.PrivateKeyFile != "", gh},
		{"client_secret_file", p.ClientSecretFile != "", gh},
		{"api_url", p.APIURL != "", gh},
		{"web_url", p.WebURL != "", gh},
		{"app_url", p.AppURL != "", gh},
	} {
		if f.set && !slices.Contains(f.types, p.Type) {
			v.errorf(path+"."+f.key, "%s: %s does not apply to a provider of type %s", subj, f.key, p.Type)
		}
	}
	urls := []struct{ key, val string }{
		{"sts_endpoint", p.STSEndpoint}, {"s3_endpoint", p.S3Endpoint},
		{"blob_endpoint", p.BlobEndpoint}, {"api_url", p.APIURL}, {"web_url", p.WebURL},
		{"app_url", p.AppURL},
	}
	for _, u := range urls {
		if u.val == "" {
			continue
		}
		if msg := checkURL(u.val); msg != "" {
			v.errorf(path+"."+u.key, "%s: %s: %s", subj, u.key, msg)
		}
	}
	switch p.Type {
	case TypeAWS:
		if p.RoleARN != "" && !strings.HasPrefix(p.RoleARN, "arn:") {
			v.errorf(path+".role_arn", "%s: role_arn must be an ARN (arn:...)", subj)
		}
		if p.Region != "" && !regionRE.MatchString(p.Region) {
			v.errorf(path+".region", "%s: region %q is not a region name", subj, p.Region)
		}
	case TypeAzure:
		if p.AccountName == "" {
			v.errorf(path, "%s: account_name is required", subj)
		} else if !accountRE.MatchString(p.AccountName) {
			v.errorf(path+".account_name", "%s: account_name %q must be 3-24 lowercase letters and digits", subj, p.AccountName)
		}
		if p.AccountKeyFile == "" {
			v.errorf(path, "%s: account_key_file is required (SAS tokens are signed with the account key)", subj)
		}
	case TypeGitHub:
		if p.AppID < 0 {
			v.errorf(path+".app_id", "%s: app_id must be positive", subj)
		}
	}
}

// checkHostPort says what is wrong with a listen address, or "".
func checkHostPort(s string) string {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return "must be host:port"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "port must be a number from 0 to 65535"
	}
	return ""
}

// checkURL says what is wrong with an upstream base URL, or "".
func checkURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "not a URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("%q must be an absolute http or https URL", s)
	case u.Host == "":
		return fmt.Sprintf("%q has no host", s)
	case u.User != nil:
		// Never echo it: the user info may hold a password.
		return "must not hold a user name or password (secrets come from files)"
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return fmt.Sprintf("%q must not have a query or fragment", s)
	}
	return ""
}

// checkBasePath says what is wrong with base_path, or "".
func checkBasePath(s string) string {
	if s == "" {
		return ""
	}
	if !strings.HasPrefix(s, "/") || strings.HasSuffix(s, "/") {
		return `must start with "/" and not end with "/", like /services/credserver`
	}
	for seg := range strings.SplitSeq(s[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return `must not contain empty, "." or ".." segments`
		}
		for _, r := range seg {
			if !isAlnum(r) && !strings.ContainsRune("._~-", r) {
				return "may contain only letters, digits, '.', '_', '~', '-' and '/'"
			}
		}
	}
	return ""
}
