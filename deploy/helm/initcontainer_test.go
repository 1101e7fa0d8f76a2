package helm_test

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// z2jhValues decodes deploy/jupyterhub/z2jh-values.yaml.
func z2jhValues(t *testing.T) manifest {
	t.Helper()
	b, err := os.ReadFile("../jupyterhub/z2jh-values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		t.Fatalf("z2jh-values.yaml: %v", err)
	}
	return manifest(raw)
}

// imageCredctl is where the Dockerfile's final stage puts credctl: the
// destination of the COPY that takes /out/credctl.
func imageCredctl(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var last []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[0] == "FROM" {
			last = nil
		}
		if len(f) > 2 && f[0] == "COPY" && slices.Contains(f, "/out/credctl") {
			last = f
		}
	}
	if last == nil {
		t.Fatal("the Dockerfile's final stage does not COPY /out/credctl")
	}
	dst := last[len(last)-1]
	if strings.HasSuffix(dst, "/") {
		dst += "credctl"
	}
	return dst
}

// TestZ2JHInitContainerInstallsCredctl checks the structure that puts
// credctl into every user server without rebuilding images: an init
// container running the credserver image's own credctl (the path the
// Dockerfile puts it at) with "install DIR" into an emptyDir, the volume in
// the pod, mounted in the user's container at DIR and onto a PATH directory,
// and the AWS config calling the installed binary. z2jh's chart is not here
// to render, so the values' keys are the ones z2jh 3 documents:
// singleuser.initContainers, singleuser.storage.extraVolumes and
// extraVolumeMounts.
func TestZ2JHInitContainerInstallsCredctl(t *testing.T) {
	z := z2jhValues(t)
	inits := z.list("singleuser", "initContainers")
	if len(inits) != 1 {
		t.Fatalf("singleuser.initContainers has %d entries, want the credctl one", len(inits))
	}
	ic := manifest(inits[0].(map[string]any))

	chart := chartValues(t)
	wantImage := chart.str("image", "repository") + ":" + chartAppVersion(t)
	if got := ic.str("image"); got != wantImage {
		t.Errorf("init container image %q, want the credserver chart's %q", got, wantImage)
	}
	cmd := ic.list("command")
	exe := imageCredctl(t)
	if len(cmd) != 3 || fmt.Sprint(cmd[0]) != exe || cmd[1] != "install" {
		t.Fatalf("init container command %q, want [%s install DIR] (the image has no shell)", cmd, exe)
	}
	dir := fmt.Sprint(cmd[2])

	var volName string
	for _, m := range ic.list("volumeMounts") {
		mm := manifest(m.(map[string]any))
		if mm.str("mountPath") == dir && mm.str("subPath") == "" {
			volName = mm.str("name")
		}
	}
	if volName == "" {
		t.Fatalf("the init container mounts nothing at %s, where it installs credctl", dir)
	}
	if !ic.get("securityContext")["runAsNonRoot"].(bool) {
		t.Error("the init container may run as root")
	}

	found := false
	for _, v := range z.list("singleuser", "storage", "extraVolumes") {
		vm := manifest(v.(map[string]any))
		if vm.str("name") == volName {
			found = vm["emptyDir"] != nil
		}
	}
	if !found {
		t.Errorf("no emptyDir volume %q in singleuser.storage.extraVolumes", volName)
	}

	var atDir, onPath bool
	stdPath := []string{"/usr/local/bin", "/usr/bin", "/bin"} // on PATH in every image
	for _, m := range z.list("singleuser", "storage", "extraVolumeMounts") {
		mm := manifest(m.(map[string]any))
		if mm.str("name") != volName {
			continue
		}
		if mm.leaf("readOnly") != true {
			t.Errorf("the user's container may write to credctl (mount %v)", mm)
		}
		switch {
		case mm.str("mountPath") == dir && mm.str("subPath") == "":
			atDir = true
		case mm.str("subPath") == "credctl" && path.Base(mm.str("mountPath")) == "credctl" &&
			slices.Contains(stdPath, path.Dir(mm.str("mountPath"))):
			onPath = true
		}
	}
	if !atDir {
		t.Errorf("the user's container does not mount volume %q at %s", volName, dir)
	}
	if !onPath {
		t.Errorf("credctl is not mounted into a directory on PATH (%v)", stdPath)
	}
	aws := z.str("singleuser", "extraFiles", "credserver-aws-config", "stringData")
	procs := regexp.MustCompile(`(?m)^credential_process = (\S+) `).FindAllStringSubmatch(aws, -1)
	if len(procs) == 0 {
		t.Fatal("the AWS config has no credential_process")
	}
	for _, p := range procs {
		if p[1] != dir+"/credctl" {
			t.Errorf("credential_process runs %s, want the installed %s/credctl", p[1], dir)
		}
	}
	for _, section := range regexp.MustCompile(`(?m)^\[`).Split(aws, -1)[1:] {
		if !strings.Contains(section, "endpoint_url") {
			t.Errorf("section [%s has no endpoint_url hint for S3-compatible stores", strings.SplitN(section, "\n", 2)[0])
		}
	}
}

// TestCredctlInstallRuns builds credctl and runs the init container's
// command against a temporary directory: the copy runs.
func TestCredctlInstallRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds credctl")
	}
	bin := filepath.Join(t.TempDir(), "credctl")
	build := exec.Command("go", "build", "-o", bin, "./cmd/credctl")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	if out, err := exec.Command(bin, "install", dir).CombinedOutput(); err != nil {
		t.Fatalf("credctl install: %v\n%s", err, out)
	}
	out, err := exec.Command(filepath.Join(dir, "credctl"), "help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "install DIR") {
		t.Errorf("the installed credctl: %v\n%s", err, out)
	}
}

func chartValues(t *testing.T) manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	return manifest(raw)
}

func chartAppVersion(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		AppVersion string `yaml:"appVersion"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c.AppVersion
}
