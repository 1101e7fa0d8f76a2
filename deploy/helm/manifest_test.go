package helm_test

import (
	"fmt"
	"testing"
)

// manifest is one decoded Kubernetes object, with lookups that return zero
// values for missing keys so checks read as plain comparisons.
type manifest map[string]any

// get walks keys through nested maps; a missing or non-map step gives nil.
func (m manifest) get(keys ...string) manifest {
	cur := map[string]any(m)
	for _, k := range keys {
		next, ok := cur[k].(map[string]any)
		if !ok {
			return nil
		}
		cur = next
	}
	return cur
}

func (m manifest) leaf(keys ...string) any {
	if len(keys) == 0 {
		return nil
	}
	parent := m.get(keys[:len(keys)-1]...)
	if parent == nil {
		return nil
	}
	return parent[keys[len(keys)-1]]
}

func (m manifest) str(keys ...string) string {
	v := m.leaf(keys...)
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func (m manifest) int(keys ...string) int {
	n, _ := m.leaf(keys...).(int)
	return n
}

func (m manifest) list(keys ...string) []any {
	l, _ := m.leaf(keys...).([]any)
	return l
}

// find returns the one document of kind.
func find(t *testing.T, docs []manifest, kind string) manifest {
	t.Helper()
	var found []manifest
	for _, d := range docs {
		if d.str("kind") == kind {
			found = append(found, d)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d documents of kind %s, want 1", len(found), kind)
	}
	return found[0]
}

// container returns a Deployment's only container.
func (m manifest) container(t *testing.T) manifest {
	t.Helper()
	cs := m.list("spec", "template", "spec", "containers")
	if len(cs) != 1 {
		t.Fatalf("%d containers, want 1", len(cs))
	}
	return manifest(cs[0].(map[string]any))
}

// podVolume returns a Deployment's pod volume by name.
func (m manifest) podVolume(t *testing.T, name string) manifest {
	t.Helper()
	for _, v := range m.list("spec", "template", "spec", "volumes") {
		if vm := manifest(v.(map[string]any)); vm.str("name") == name {
			return vm
		}
	}
	t.Fatalf("no pod volume %q", name)
	return nil
}

// mountPath returns where a container mounts volume name, "" if nowhere.
func (m manifest) mountPath(t *testing.T, name string) string {
	t.Helper()
	for _, v := range m.list("volumeMounts") {
		if vm := manifest(v.(map[string]any)); vm.str("name") == name {
			return vm.str("mountPath")
		}
	}
	return ""
}
