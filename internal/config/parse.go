package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxFileSize bounds what Load reads; a policy file is a few kilobytes.
const maxFileSize = 4 << 20

// Load reads and parses the config file at path. Errors name the file and,
// for problems inside it, the line. Load does not read the files that the
// config's *_file keys name.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("config %s: larger than %d bytes", path, maxFileSize)
	}
	cfg, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// Parse decodes one YAML document strictly, fills in defaults and
// validates the result. On failure the error joins (errors.Join) one
// *[Error] per problem found, ordered by line; it never holds a secret
// or the store DSN.
func Parse(data []byte) (*Config, error) {
	root, err := parseNode(data)
	if err != nil {
		return nil, err
	}
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return nil, joinErrors(decodeErrors(err))
	}
	cfg.lines = indexLines(root)
	for name, p := range cfg.Providers {
		p.Line = cfg.lines.line("providers." + name)
		cfg.Providers[name] = p
	}
	for i := range cfg.Grants {
		cfg.Grants[i].Line = cfg.lines.line(fmt.Sprintf("grants[%d]", i))
	}
	cfg.applyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// parseNode checks the file's overall shape, exactly one document holding a
// mapping, and returns that mapping.
func parseNode(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{Line: 1, Msg: "the config is empty"}
		}
		return nil, syntaxError(data, err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, syntaxError(data, err)
	default:
		return nil, &Error{Line: next.Line, Msg: "a second YAML document; the config must be a single document"}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, &Error{Line: 1, Msg: "the config is empty"}
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, &Error{Line: 1, Msg: "the config is empty"}
	}
	if root.Kind != yaml.MappingNode {
		return nil, &Error{Line: root.Line, Msg: "the config must be a mapping of keys (listen, hub, providers, grants, ...)"}
	}
	return root, nil
}

// bareTemplateRE finds a template variable left unquoted as a YAML value,
// which YAML reads as the start of a flow mapping.
var bareTemplateRE = regexp.MustCompile(`:\s+[^\s"'#]*\{(user|group)\}`)

// syntaxError reports a YAML syntax error and, because yaml.v3 often
// names the line where the enclosing block starts, points at an unquoted
// template variable when there is one.
func syntaxError(data []byte, err error) error {
	errs := decodeErrors(err)
	for i, l := range strings.Split(string(data), "\n") {
		if m := bareTemplateRE.FindStringSubmatch(l); m != nil {
			errs = append(errs, &Error{Line: i + 1, Msg: fmt.Sprintf("quote values holding {%s}: YAML reads a bare {...} as a mapping (write prefix: \"{%s}/\")", m[1], m[1])})
		}
	}
	return joinErrors(errs)
}

var (
	lineRE    = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	unknownRE = regexp.MustCompile(`^field (\S+) not found in type config\.(\w+)$`)
)

// sectionNames names the struct types in the words of the file.
var sectionNames = map[string]string{
	"Config":   "the top level",
	"Hub":      "hub",
	"Store":    "store",
	"Provider": "a provider",
	"Grant":    "a grant",
	"Allow":    "allow",
}

// decodeErrors turns yaml.v3's errors, strings of the form "line N: ...",
// into one *Error per problem.
func decodeErrors(err error) []*Error {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	errs := make([]*Error, 0, len(msgs))
	for _, m := range msgs {
		e := &Error{Msg: strings.TrimPrefix(m, "yaml: ")}
		if sub := lineRE.FindStringSubmatch(m); sub != nil {
			e.Line, _ = strconv.Atoi(sub[1])
			e.Msg = sub[2]
		}
		if sub := unknownRE.FindStringSubmatch(e.Msg); sub != nil {
			e.Msg = fmt.Sprintf("unknown key %q in %s (known keys: %s)", sub[1], sectionNames[sub[2]], knownKeys(sub[2]))
		}
		errs = append(errs, e)
	}
	return errs
}

// knownKeys lists the YAML keys of one of this package's struct types.
func knownKeys(typeName string) string {
	var v any
	switch typeName {
	case "Config":
		v = Config{}
	case "Hub":
		v = Hub{}
	case "Store":
		v = Store{}
	case "Provider":
		v = Provider{}
	case "Grant":
		v = Grant{}
	case "Allow":
		v = Allow{}
	default:
		return "?"
	}
	t := reflect.TypeOf(v)
	var keys []string
	for i := range t.NumField() {
		if k := t.Field(i).Tag.Get("yaml"); k != "" && k != "-" {
			keys = append(keys, k)
		}
	}
	return strings.Join(keys, ", ")
}

// joinErrors orders errs by line and joins them; nil when errs is empty.
func joinErrors(errs []*Error) error {
	if len(errs) == 0 {
		return nil
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
	all := make([]error, len(errs))
	for i, e := range errs {
		all[i] = e
	}
	return errors.Join(all...)
}
