package helm_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/credserver/credserver/internal/testenv/peers"
)

const chartDir = "credserver"

// helm runs the real helm with its state in a temporary directory, so no
// user's repositories or plugins change the result.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	peers.Require(t, "helm")
	bin, err := peers.Bin("helm")
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+home+"/cache", "HELM_CONFIG_HOME="+home+"/config", "HELM_DATA_HOME="+home+"/data")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	return out.String(), err
}

// render runs helm template with the release name "credserver" in
// namespace jhub and decodes every document.
func render(t *testing.T, valueFiles ...string) []manifest {
	t.Helper()
	args := []string{"template", "credserver", chartDir, "--namespace", "jhub"}
	for _, f := range valueFiles {
		args = append(args, "--values", f)
	}
	out, err := helm(t, args...)
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	var docs []manifest
	dec := yaml.NewDecoder(strings.NewReader(out))
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("rendered manifests do not parse: %v\n%s", err, out)
		}
		if m == nil {
			continue
		}
		for _, key := range []string{"apiVersion", "kind", "metadata"} {
			if _, ok := m[key]; !ok {
				t.Fatalf("a rendered document has no %s: %v", key, m)
			}
		}
		docs = append(docs, manifest(m))
	}
	return docs
}

func TestLint(t *testing.T) {
	for _, values := range [][]string{nil, {"testdata/all-features.yaml"}, {"testdata/persistence.yaml"}} {
		t.Run(fmt.Sprint(values), func(t *testing.T) {
			args := []string{"lint", "--strict", chartDir}
			for _, f := range values {
				args = append(args, "--values", f)
			}
			if out, err := helm(t, args...); err != nil {
				t.Fatalf("helm lint: %v\n%s", err, out)
			}
		})
	}
}

func TestTemplate(t *testing.T) {
	tests := []struct {
		name      string
		values    []string
		wantKinds []string
		check     func(t *testing.T, docs []manifest)
	}{
		{
			name:      "defaults",
			wantKinds: []string{"ConfigMap", "Deployment", "Service", "ServiceAccount"},
			check: func(t *testing.T, docs []manifest) {
				d := find(t, docs, "Deployment")
				if got := d.int("spec", "replicas"); got != 1 {
					t.Errorf("replicas = %d, want 1", got)
				}
				if vol := d.podVolume(t, "data"); vol["emptyDir"] == nil {
					t.Errorf("data volume = %v, want an emptyDir", vol)
				}
			},
		},
		{
			name:      "every optional feature",
			values:    []string{"testdata/all-features.yaml"},
			wantKinds: []string{"ConfigMap", "Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Service", "ServiceAccount", "ServiceMonitor"},
			check:     checkAllFeatures,
		},
		{
			name:      "persistence",
			values:    []string{"testdata/persistence.yaml"},
			wantKinds: []string{"ConfigMap", "Deployment", "PersistentVolumeClaim", "Service", "ServiceAccount"},
			check: func(t *testing.T, docs []manifest) {
				d := find(t, docs, "Deployment")
				if got := d.str("spec", "strategy", "type"); got != "Recreate" {
					t.Errorf("strategy = %q, want Recreate with a ReadWriteOnce volume", got)
				}
				pvc := find(t, docs, "PersistentVolumeClaim")
				if got := d.podVolume(t, "data").str("persistentVolumeClaim", "claimName"); got != pvc.str("metadata", "name") {
					t.Errorf("data volume claims %q, the chart's PVC is %q", got, pvc.str("metadata", "name"))
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs := render(t, tt.values...)
			var kinds []string
			for _, d := range docs {
				kinds = append(kinds, d.str("kind"))
			}
			sort.Strings(kinds)
			if diff := cmp.Diff(tt.wantKinds, kinds); diff != "" {
				t.Errorf("kinds (-want +got):\n%s", diff)
			}
			checkDeployment(t, docs)
			checkService(t, docs)
			tt.check(t, docs)
		})
	}
}

// TestTemplateRefusesSQLiteWithSeveralPods: several pods would each keep
// their own users' GitHub links.
func TestTemplateRefusesSQLiteWithSeveralPods(t *testing.T) {
	out, err := helm(t, "template", "credserver", chartDir, "--values", "testdata/sqlite-several-pods.yaml")
	if err == nil {
		t.Fatalf("helm template rendered three SQLite pods with a GitHub user grant:\n%.500s", out)
	}
	if !strings.Contains(out, "postgres") {
		t.Errorf("the refusal does not say what to do: %s", out)
	}
}
