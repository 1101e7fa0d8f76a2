package web

import (
	"html"
	"html/template"
	"strconv"
	"strings"

	"github.com/credserver/credserver/internal/policy"
)

// snippet is one copy-ready piece of code for a grant. Code is plain text:
// the template escapes it like every other string.
type snippet struct {
	ID, Label, Lang, Code string
}

// grantRow is one grant as the page lists it.
type grantRow struct {
	Name, Provider, Access, Location, MaxDuration string
	Snippets                                      []snippet
	// Block is the grant's "How to use" block, rendered by snippetsHTML.
	Block template.HTML
}

// snippetsHTML renders a grant's snippets block. It is written here
// rather than in the template because a page of 50 grants has 250
// snippets and html/template's per-value escaping dominated its render
// time; every value is escaped with html.EscapeString, which is safe in
// the text and the double-quoted attributes it is written to.
func snippetsHTML(name string, snips []snippet) template.HTML {
	var b strings.Builder
	e := html.EscapeString
	b.Grow(256 * len(snips))
	b.WriteString(`<details class="snippets" id="use-`)
	b.WriteString(e(name))
	b.WriteString(`"><summary>How to use <code>`)
	b.WriteString(e(name))
	b.WriteString(`</code></summary>`)
	for _, sn := range snips {
		b.WriteString(`<div class="snippet"><div class="snippet-head"><span>`)
		b.WriteString(e(sn.Label))
		b.WriteString(`</span><button type="button" class="copy" data-copy="`)
		b.WriteString(e(sn.ID))
		b.WriteString(`" hidden>Copy</button></div><pre id="`)
		b.WriteString(e(sn.ID))
		b.WriteString(`" class="`)
		b.WriteString(e(sn.Lang))
		b.WriteString(`">`)
		b.WriteString(e(sn.Code))
		b.WriteString("</pre></div>")
	}
	b.WriteString("</details>\n")
	return template.HTML(b.String()) // every value above is escaped
}

// py quotes s as a Python string literal (and a valid JSON one).
func py(s string) string { return strconv.Quote(s) }

// sh quotes s for a POSIX shell.
func sh(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/:._-+@=") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// splitLocation splits "s3://bucket/prefix/" into bucket and prefix.
func splitLocation(loc string) (bucket, prefix string) {
	_, rest, ok := strings.Cut(loc, "://")
	if !ok {
		return "", ""
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	return bucket, prefix
}

// snippets builds the grant's snippets from its decision (the real
// location) and its provider.
func snippets(v policy.GrantView, d policy.Decision, info ProviderInfo) []snippet {
	id := func(kind string) string { return "snip-" + v.Name + "-" + kind }
	env := snippet{ID: id("env"), Label: "Shell (credctl)", Lang: "console",
		Code: "eval \"$(credctl get " + v.Name + " --format env)\""}
	loc := v.Location
	if len(d.Prefixes) > 1 {
		loc = d.Locations()[0]
	}
	bucket, prefix := splitLocation(loc)
	switch v.Provider {
	case "aws":
		profile := v.Name
		ep := info.S3Endpoint
		client := `boto3.Session(profile_name=` + py(profile) + `).client("s3"`
		if ep != "" {
			client += `, endpoint_url=` + py(ep)
		}
		client += ")"
		fsArgs := `profile=` + py(profile)
		opts := `{"profile": ` + py(profile)
		if ep != "" {
			fsArgs += `, client_kwargs={"endpoint_url": ` + py(ep) + `}`
			opts += `, "client_kwargs": {"endpoint_url": ` + py(ep) + `}`
		}
		opts += "}"
		cli := "aws --profile " + sh(profile)
		if ep != "" {
			cli += " --endpoint-url " + sh(ep)
		}
		return []snippet{
			{ID: id("configure"), Label: "Once, in a terminal", Lang: "console",
				Code: "credctl aws configure --grant " + v.Name + " --profile " + sh(profile)},
			{ID: id("boto3"), Label: "boto3", Lang: "python", Code: "import boto3\n\n" +
				"s3 = " + client + "\n" +
				"resp = s3.list_objects_v2(Bucket=" + py(bucket) + ", Prefix=" + py(prefix) + ")\n" +
				"for obj in resp.get(\"Contents\", []):\n    print(obj[\"Key\"])"},
			{ID: id("s3fs"), Label: "s3fs / xarray", Lang: "python", Code: "import s3fs\nimport xarray as xr\n\n" +
				"fs = s3fs.S3FileSystem(" + fsArgs + ")\n" +
				"fs.ls(" + py(loc) + ")\n" +
				"ds = xr.open_zarr(" + py(loc+"data.zarr") + ", storage_options=" + opts + ")"},
			{ID: id("cli"), Label: "aws CLI", Lang: "console", Code: cli + " s3 ls " + sh(loc)},
			env,
		}
	case "gcs":
		return []snippet{
			{ID: id("gcsfs"), Label: "gcsfs", Lang: "python", Code: "import json, subprocess\nimport gcsfs, google.oauth2.credentials\n\n" +
				"c = json.loads(subprocess.check_output([\"credctl\", \"get\", " + py(v.Name) + "]))\n" +
				"fs = gcsfs.GCSFileSystem(token=google.oauth2.credentials.Credentials(c[\"access_token\"]))\n" +
				"fs.ls(" + py(loc) + ")"},
			env,
		}
	case "azure":
		account := info.AccountName
		return []snippet{
			{ID: id("adlfs"), Label: "adlfs", Lang: "python", Code: "import json, subprocess\nimport adlfs\n\n" +
				"c = json.loads(subprocess.check_output([\"credctl\", \"get\", " + py(v.Name) + "]))\n" +
				"fs = adlfs.AzureBlobFileSystem(account_name=" + py(account) + ", sas_token=c[\"sas_token\"])\n" +
				"fs.ls(" + py(loc) + ")"},
			env,
		}
	case "github":
		return []snippet{
			{ID: id("git"), Label: "git", Lang: "console", Code: "credctl github login   # once: links your GitHub account and sets up git\ngit push"},
		}
	}
	return []snippet{env}
}
