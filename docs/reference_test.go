package docs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/credctl"
)

// reference is docs/reference.md, read once per test.
func reference(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("reference.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// mentions reports whether doc names s as code: `s`, or s at the start of
// a code span (`GET /v1/whoami` names GET /v1/whoami).
func mentions(doc, s string) bool {
	return strings.Contains(doc, "`"+s+"`") || strings.Contains(doc, "`"+s+" ") ||
		strings.Contains(doc, "`"+s+"\\|")
}

// TestReferenceCoversOpenAPI: every route and method, every parameter,
// every property of every schema (nested ones too) and every error code of
// api/openapi.yaml is named in the reference.
func TestReferenceCoversOpenAPI(t *testing.T) {
	doc := reference(t)
	b, err := os.ReadFile("../api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Paths      map[string]map[string]any `yaml:"paths"`
		Components struct {
			Schemas    map[string]any `yaml:"schemas"`
			Parameters map[string]struct {
				Name string `yaml:"name"`
			} `yaml:"parameters"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	if len(spec.Paths) < 5 {
		t.Fatalf("only %d paths in the spec", len(spec.Paths))
	}
	for path, ops := range spec.Paths {
		for method, op := range ops {
			switch method {
			case "get", "post", "put", "patch", "delete":
			default:
				continue
			}
			route := strings.ToUpper(method) + " " + path
			if !mentions(doc, route) {
				t.Errorf("route %s is not in docs/reference.md", route)
			}
			m, _ := op.(map[string]any)
			params, _ := m["parameters"].([]any)
			for _, p := range params {
				if name, _ := p.(map[string]any)["name"].(string); name != "" && !mentions(doc, name) {
					t.Errorf("parameter %s of %s is not in docs/reference.md", name, route)
				}
			}
		}
	}
	for _, p := range spec.Components.Parameters {
		if !mentions(doc, p.Name) {
			t.Errorf("parameter %s is not in docs/reference.md", p.Name)
		}
	}
	var props []string
	for name, s := range spec.Components.Schemas {
		collectProperties(name, s, &props)
	}
	for _, p := range props {
		schema, field, _ := strings.Cut(p, ".")
		if !mentions(doc, field) {
			t.Errorf("field %s of schema %s is not in docs/reference.md", field, schema)
		}
	}
	for _, code := range errorCodes(t, spec.Components.Schemas) {
		if !mentions(doc, code) {
			t.Errorf("error code %s is not in docs/reference.md", code)
		}
	}
	for _, code := range serverCodes(t) {
		if !mentions(doc, code) {
			t.Errorf("error code %s, which the server sends, is not in docs/reference.md", code)
		}
	}
}

// serverCodes are the error codes written in the server's code
// (Code: "..."), which may be ahead of the spec's list.
func serverCodes(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../internal/server/*.go")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`Code:\s*"([a-z][a-z0-9_]*)"`).FindAllStringSubmatch(string(b), -1) {
			seen[m[1]] = true
		}
	}
	if len(seen) < 10 {
		t.Fatalf("found only %d error codes in internal/server", len(seen))
	}
	codes := make([]string, 0, len(seen))
	for c := range seen {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	return codes
}

// collectProperties appends "Schema.field" for every property of s and of
// the objects nested in it.
func collectProperties(schema string, s any, out *[]string) {
	m, ok := s.(map[string]any)
	if !ok {
		return
	}
	if props, ok := m["properties"].(map[string]any); ok {
		for name, sub := range props {
			*out = append(*out, schema+"."+name)
			collectProperties(schema, sub, out)
		}
	}
	if items, ok := m["items"]; ok {
		collectProperties(schema, items, out)
	}
}

// errorCodes reads the code list from the Error schema's description of
// error.code.
func errorCodes(t *testing.T, schemas map[string]any) []string {
	t.Helper()
	e, _ := schemas["Error"].(map[string]any)
	desc := fmt.Sprint(dig(e, "properties", "error", "properties", "code", "description"))
	codes := regexp.MustCompile(`\b[a-z]+(?:_[a-z]+)+\b|\binternal\b|\bforbidden\b`).FindAllString(desc, -1)
	if len(codes) < 10 {
		t.Fatalf("found only %d error codes in the Error schema: %q", len(codes), desc)
	}
	return codes
}

func dig(m map[string]any, keys ...string) any {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[k]
	}
	return cur
}

// configKeys lists every key of config.Config by its yaml tags: "hub.cache_ttl",
// "providers.<name>.region", "grants[].allow.users".
func configKeys(t reflect.Type, prefix string, out *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Struct && t.PkgPath() == reflect.TypeOf(config.Config{}).PkgPath() && t.Name() != "Duration":
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" || !f.IsExported() {
				continue
			}
			k := name
			if prefix != "" {
				k = prefix + "." + name
			}
			configKeys(f.Type, k, out)
		}
	case t.Kind() == reflect.Map && t.Elem().Kind() == reflect.Struct:
		configKeys(t.Elem(), prefix+".<name>", out)
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		configKeys(t.Elem(), prefix+"[]", out)
	default:
		*out = append(*out, prefix)
	}
}

// TestReferenceCoversConfig: every config key is a row of the reference,
// and every default shown as a literal is the one the config applies.
func TestReferenceCoversConfig(t *testing.T) {
	doc := reference(t)
	var keys []string
	configKeys(reflect.TypeOf(config.Config{}), "", &keys)
	if len(keys) < 40 {
		t.Fatalf("only %d config keys found by reflection: %q", len(keys), keys)
	}
	rows := map[string]string{} // key -> default column
	for _, line := range strings.Split(doc, "\n") {
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 3 || !strings.HasPrefix(strings.TrimSpace(cells[0]), "`") {
			continue
		}
		key := strings.Trim(strings.TrimSpace(cells[0]), "`")
		def := strings.TrimSpace(cells[1])
		if len(cells) >= 4 && strings.HasPrefix(key, "providers.") {
			def = strings.TrimSpace(cells[2])
		}
		rows[key] = def
	}
	for _, k := range keys {
		if _, ok := rows[k]; !ok {
			t.Errorf("config key %s has no row in docs/reference.md", k)
		}
	}
	// Defaults: a minimal config with one grant, after the config's own
	// defaulting.
	cfg, err := config.Parse([]byte(`hub: {api_url: "http://hub:8081/hub/api"}
providers: {s3: {type: aws}}
grants: [{name: g, provider: s3, bucket: bkt, prefix: "{user}/", allow: {users: ["*"]}}]
`))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, k := range keys {
		def := rows[k]
		if !regexp.MustCompile("^`[^`]+`$").MatchString(def) || strings.HasPrefix(k, "providers.") || strings.HasPrefix(k, "web.") {
			continue
		}
		want := strings.Trim(def, "`")
		got, ok := valueAt(reflect.ValueOf(*cfg), k)
		if !ok {
			continue
		}
		checked++
		if dw, err := config.ParseDuration(want); err == nil {
			if dg, err := config.ParseDuration(got); err == nil && dg == dw {
				continue
			}
		}
		if got != want {
			t.Errorf("docs/reference.md says %s defaults to %q; the config gives %q", k, want, got)
		}
	}
	if checked < 12 {
		t.Errorf("only %d defaults checked", checked)
	}
}

// valueAt formats the value at key in v; false for keys under a map or a
// nil pointer.
func valueAt(v reflect.Value, key string) (string, bool) {
	for _, part := range strings.Split(key, ".") {
		if strings.HasSuffix(part, "[]") {
			v = fieldByTag(v, strings.TrimSuffix(part, "[]"))
			if !v.IsValid() || v.Len() == 0 {
				return "", false
			}
			v = v.Index(0)
			continue
		}
		v = fieldByTag(v, part)
		if !v.IsValid() {
			return "", false
		}
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "", false
		}
		v = v.Elem()
	}
	if s, ok := v.Interface().(fmt.Stringer); ok {
		return s.String(), true
	}
	return fmt.Sprint(v.Interface()), true
}

func fieldByTag(v reflect.Value, tag string) reflect.Value {
	if v.Kind() != reflect.Struct {
		return reflect.Value{}
	}
	for i := range v.NumField() {
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ",")
		if name == tag {
			return v.Field(i)
		}
	}
	return reflect.Value{}
}

// TestReferenceCoversCLI: every command and flag credctl's help names is
// in the reference.
func TestReferenceCoversCLI(t *testing.T) {
	doc := reference(t)
	help := credctlHelp(t)
	cmds := regexp.MustCompile(`(?m)^  ([a-z][a-z-]+)(?: [a-z|-]+)?(?: |$)`).FindAllStringSubmatch(section(help, "Commands:", "Every command"), -1)
	if len(cmds) < 6 {
		t.Fatalf("found only %d commands in credctl help:\n%s", len(cmds), help)
	}
	for _, c := range cmds {
		if !strings.Contains(doc, "`credctl "+c[1]) {
			t.Errorf("credctl %s is not in docs/reference.md", c[1])
		}
		sub := credctlHelpFor(t, c[1])
		for _, f := range regexp.MustCompile(`--[a-z][a-z-]+`).FindAllString(sub, -1) {
			if !strings.Contains(doc, f) {
				t.Errorf("credctl %s flag %s is not in docs/reference.md", c[1], f)
			}
		}
	}
	for _, f := range regexp.MustCompile(`--[a-z][a-z-]+`).FindAllString(help, -1) {
		if !strings.Contains(doc, f) {
			t.Errorf("credctl flag %s is not in docs/reference.md", f)
		}
	}
	for _, env := range regexp.MustCompile(`(?m)^  ([A-Z][A-Z_]+) `).FindAllStringSubmatch(section(help, "Environment:", "Exit status"), -1) {
		if !mentions(doc, env[1]) {
			t.Errorf("credctl environment variable %s is not in docs/reference.md", env[1])
		}
	}
}

func section(s, from, to string) string {
	_, after, _ := strings.Cut(s, from)
	before, _, _ := strings.Cut(after, to)
	return before
}

func credctlHelp(t *testing.T) string { return credctlHelpFor(t, "") }

func credctlHelpFor(t *testing.T, cmd string) string {
	t.Helper()
	args := []string{"help"}
	if cmd != "" {
		args = append(args, cmd)
	}
	var out, errb bytes.Buffer
	if rc := credctl.Main(args, strings.NewReader(""), &out, &errb, func(string) string { return "" }); rc != 0 {
		t.Fatalf("credctl %q: exit %d: %s", args, rc, errb.String())
	}
	return out.String()
}

// TestReferenceCoversMetrics: every metric name the server code registers
// is in the reference.
func TestReferenceCoversMetrics(t *testing.T) {
	doc := reference(t)
	files, err := filepath.Glob("../internal/*/*.go")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`"(credserver_[a-z_]+)"`).FindAllStringSubmatch(string(b), -1) {
			seen[m[1]] = true
		}
	}
	if len(seen) < 5 {
		t.Fatalf("found only %d metric names in internal/", len(seen))
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !mentions(doc, n) {
			t.Errorf("metric %s is not in docs/reference.md", n)
		}
	}
}
