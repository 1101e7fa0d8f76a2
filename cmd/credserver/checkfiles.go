package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"sort"
	"strings"

	"github.com/credserver/credserver/internal/config"
)

// fileProblem is one *_file key whose file credserver could not use.
type fileProblem struct {
	key, path, reason string
}

func (p fileProblem) String() string { return fmt.Sprintf("%s: %s: %s", p.key, p.path, p.reason) }

// fileProblems checks every set config key whose name ends in _file (found
// by reflection over the yaml tags, so keys added later are checked too):
// the file must exist, be a regular file credserver can read, and not be
// empty. The secrets it names are read only at serve, so without this a
// config naming a missing key passes check and fails in production.
func fileProblems(cfg *config.Config) []fileProblem {
	var out []fileProblem
	walkFileKeys(reflect.ValueOf(*cfg), "", func(key, path string) {
		if reason := unusableFile(path); reason != "" {
			out = append(out, fileProblem{key, path, reason})
		}
	})
	return out
}

// walkFileKeys calls fn for every non-empty string field of v tagged
// yaml:"..._file", with its dotted key (providers.gh.private_key_file).
func walkFileKeys(v reflect.Value, prefix string, fn func(key, path string)) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			walkFileKeys(v.Elem(), prefix, fn)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || name == "-" || name == "" {
				continue
			}
			key := name
			if prefix != "" {
				key = prefix + "." + name
			}
			fv := v.Field(i)
			if fv.Kind() == reflect.String && strings.HasSuffix(name, "_file") {
				if fv.String() != "" {
					fn(key, fv.String())
				}
				continue
			}
			walkFileKeys(fv, key, fn)
		}
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		for _, k := range keys {
			walkFileKeys(v.MapIndex(k), prefix+"."+fmt.Sprint(k), fn)
		}
	case reflect.Slice:
		for i := range v.Len() {
			walkFileKeys(v.Index(i), fmt.Sprintf("%s[%d]", prefix, i), fn)
		}
	}
}

// unusableFile says why path cannot serve as a secret file, or "".
func unusableFile(path string) string {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no such file"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied (a directory on the way is not searchable)"
	case err != nil:
		return err.Error()
	case st.IsDir():
		return "is a directory"
	case !st.Mode().IsRegular():
		return "is not a regular file"
	}
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return "not readable by this user"
		}
		return err.Error()
	}
	defer f.Close()
	if n, err := f.Read(make([]byte, 1)); n == 0 {
		if err == nil || errors.Is(err, io.EOF) {
			return "is empty"
		}
		return err.Error()
	}
	return ""
}
