package helm_test

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/credserver/credserver/internal/config"
)

// TestJupyterHubSnippetsMatchChart: the z2jh values and the
// jupyterhub_config.py snippet in deploy/jupyterhub point at what the chart
// renders with its defaults (release "credserver"): the Service, its port,
// the base path, the pod labels and the container port.
func TestJupyterHubSnippetsMatchChart(t *testing.T) {
	docs := render(t)
	svc, dep, cm := find(t, docs, "Service"), find(t, docs, "Deployment"), find(t, docs, "ConfigMap")
	cfg, err := config.Parse([]byte(cm.str("data", "config.yaml")))
	if err != nil {
		t.Fatal(err)
	}
	svcPort := manifest(svc.list("spec", "ports")[0].(map[string]any)).int("port")
	serviceURL := fmt.Sprintf("http://%s:%d", svc.str("metadata", "name"), svcPort)

	b, err := os.ReadFile("../jupyterhub/z2jh-values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		t.Fatalf("z2jh-values.yaml: %v", err)
	}
	z := manifest(raw)
	if got := z.str("hub", "services", "credserver", "url"); got != serviceURL {
		t.Errorf("hub.services.credserver.url = %q, the chart's Service is %q", got, serviceURL)
	}
	env := z.get("singleuser", "extraEnv")
	if got, want := fmt.Sprint(env["CREDSERVER_URL"]), serviceURL+cfg.BasePath; got != want {
		t.Errorf("singleuser CREDSERVER_URL = %q, want %q", got, want)
	}
	awsFile := z.get("singleuser", "extraFiles", "credserver-aws-config")
	if got := fmt.Sprint(env["AWS_CONFIG_FILE"]); got != awsFile.str("mountPath") {
		t.Errorf("AWS_CONFIG_FILE = %q, the file is mounted at %q", got, awsFile.str("mountPath"))
	}
	if !regexp.MustCompile(`(?m)^credential_process = \S*credctl get \S+ --format credential-process$`).MatchString(awsFile.str("stringData")) {
		t.Errorf("the AWS config has no credctl credential_process:\n%s", awsFile.str("stringData"))
	}
	rule := manifest(z.list("singleuser", "networkPolicy", "egress")[0].(map[string]any))
	to := manifest(rule.list("to")[0].(map[string]any))
	podLabels := dep.get("spec", "template", "metadata", "labels")
	for k, v := range to.get("podSelector", "matchLabels") {
		if podLabels[k] != v {
			t.Errorf("the egress rule selects %s=%v; credserver pods have %v", k, v, podLabels)
		}
	}
	if got := manifest(rule.list("ports")[0].(map[string]any)).int("port"); got != containerPort(dep) {
		t.Errorf("the egress rule opens port %d, credserver listens on %d", got, containerPort(dep))
	}

	py, err := os.ReadFile("../jupyterhub/jupyterhub_config.py")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`os\.environ\.get\("CREDSERVER_URL", "([^"]+)"\)`).FindSubmatch(py)
	if m == nil || string(m[1]) != serviceURL {
		t.Errorf("jupyterhub_config.py's default CREDSERVER_URL is %q, want %q", m, serviceURL)
	}
	if !strings.Contains(string(py), `+ "`+cfg.BasePath+`"`) {
		t.Errorf("jupyterhub_config.py does not give user servers the base path %s", cfg.BasePath)
	}
}

func containerPort(dep manifest) int {
	cs := dep.list("spec", "template", "spec", "containers")
	ports := manifest(cs[0].(map[string]any)).list("ports")
	return manifest(ports[0].(map[string]any)).int("containerPort")
}

// TestZ2JHGrantsServiceAccess: the z2jh values give the user and server
// roles the scope credserver requires for the service name the chart
// configures, keeping JupyterHub 3's own scopes of those roles, and guard
// Spawner.server_token_scopes for JupyterHub 4+.
func TestZ2JHGrantsServiceAccess(t *testing.T) {
	cm := find(t, render(t), "ConfigMap")
	cfg, err := config.Parse([]byte(cm.str("data", "config.yaml")))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Hub.ServiceAccessRequired() {
		t.Error("the chart turns hub.require_service_access off")
	}
	scope := "access:services!service=" + cfg.Hub.ServiceName
	b, err := os.ReadFile("../jupyterhub/z2jh-values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	z := manifest(raw)
	if z.get("hub", "services", cfg.Hub.ServiceName) == nil {
		t.Errorf("no hub.services.%s in the z2jh values", cfg.Hub.ServiceName)
	}
	for role, want := range map[string][]string{
		"user":   {"self", scope},
		"server": {"users:activity!user", "access:servers!user", scope},
	} {
		got := fmt.Sprint(z.list("hub", "loadRoles", role, "scopes"))
		if got != fmt.Sprint(want) {
			t.Errorf("loadRoles.%s.scopes = %s, want %v", role, got, want)
		}
	}
	extra := fmt.Sprint(z.get("hub", "extraConfig")["credserver-server-token-scopes"])
	if !strings.Contains(extra, `>= 4:`) || !strings.Contains(extra, `"`+scope+`"`) {
		t.Errorf("extraConfig does not set a guarded server_token_scopes with %s:\n%s", scope, extra)
	}
}
