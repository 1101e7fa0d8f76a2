package helm_test

import (
	"fmt"
	"path"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/policy"
)

// checkDeployment checks what every rendering must have.
func checkDeployment(t *testing.T, docs []manifest) {
	t.Helper()
	d := find(t, docs, "Deployment")
	pod := d.get("spec", "template")
	if got := pod.str("metadata", "labels", "hub.jupyter.org/network-access-hub"); got != "true" {
		t.Errorf("pod label hub.jupyter.org/network-access-hub = %q, want \"true\" (z2jh's hub NetworkPolicy)", got)
	}
	if pod.get("spec", "securityContext")["runAsNonRoot"] != true {
		t.Error("pod securityContext.runAsNonRoot is not true")
	}
	if got := pod.int("spec", "securityContext", "runAsUser"); got != 65532 {
		t.Errorf("runAsUser = %d, want 65532 (the image's nonroot user)", got)
	}
	c := d.container(t)
	sc := c.get("securityContext")
	if sc["readOnlyRootFilesystem"] != true || sc["allowPrivilegeEscalation"] != false {
		t.Errorf("container securityContext = %v, want a read-only root and no privilege escalation", sc)
	}
	if drop := sc.list("capabilities", "drop"); !slices.Contains(drop, any("ALL")) {
		t.Errorf("capabilities.drop = %v, want ALL", drop)
	}
	ports := map[string]int{}
	for _, p := range c.list("ports") {
		pm := manifest(p.(map[string]any))
		ports[pm.str("name")] = pm.int("containerPort")
	}
	for probe, want := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz"} {
		if got := c.str(probe, "httpGet", "path"); got != want {
			t.Errorf("%s path = %q, want %q", probe, got, want)
		}
		if port := c.str(probe, "httpGet", "port"); ports[port] == 0 {
			t.Errorf("%s port %q is not a container port (%v)", probe, port, ports)
		}
	}
	if len(c.get("resources", "requests")) == 0 || len(c.get("resources", "limits")) == 0 {
		t.Errorf("resources = %v, want requests and limits", c.get("resources"))
	}

	// The config: the ConfigMap's config.yaml, mounted where CREDSERVER_CONFIG
	// points, is a file credserver accepts, listening on the container port.
	cm := find(t, docs, "ConfigMap")
	if got := d.podVolume(t, "config").str("configMap", "name"); got != cm.str("metadata", "name") {
		t.Errorf("config volume is ConfigMap %q, the chart's is %q", got, cm.str("metadata", "name"))
	}
	var configPath, memLimit string
	for _, e := range c.list("env") {
		em := manifest(e.(map[string]any))
		switch em.str("name") {
		case "CREDSERVER_CONFIG":
			configPath = em.str("value")
		case "CREDSERVER_MEMORY_LIMIT":
			memLimit = em.str("valueFrom", "resourceFieldRef", "resource") + " of " + em.str("valueFrom", "resourceFieldRef", "containerName")
		}
	}
	if want := "limits.memory of " + c.str("name"); memLimit != want {
		t.Errorf("CREDSERVER_MEMORY_LIMIT is %q, want the downward API's %q", memLimit, want)
	}
	if got := c.mountPath(t, "config"); got == "" || path.Join(got, "config.yaml") != configPath {
		t.Errorf("config mounted at %q, CREDSERVER_CONFIG = %q", got, configPath)
	}
	cfg, err := config.Parse([]byte(cm.str("data", "config.yaml")))
	if err != nil {
		t.Fatalf("the rendered config.yaml is not a valid credserver config: %v\n%s", err, cm.str("data", "config.yaml"))
	}
	if _, err := policy.Compile(cfg); err != nil {
		t.Errorf("the rendered policy does not compile: %v", err)
	}
	if want := fmt.Sprintf("0.0.0.0:%d", ports["http"]); cfg.Listen != want {
		t.Errorf("config listen = %q, want %q (the http container port)", cfg.Listen, want)
	}
	if cfg.MetricsListen != "" && cfg.MetricsListen != fmt.Sprintf("0.0.0.0:%d", ports["metrics"]) {
		t.Errorf("config metrics_listen = %q, container ports %v", cfg.MetricsListen, ports)
	}
	// Writable places exist although the root filesystem is read-only.
	for _, vol := range []string{"tmp", "data"} {
		if c.mountPath(t, vol) == "" {
			t.Errorf("volume %q is not mounted", vol)
		}
	}
}

// checkService: the Service selects the pods and targets named ports.
func checkService(t *testing.T, docs []manifest) {
	t.Helper()
	d, svc := find(t, docs, "Deployment"), find(t, docs, "Service")
	labels := d.get("spec", "template", "metadata", "labels")
	for k, v := range svc.get("spec", "selector") {
		if labels[k] != v {
			t.Errorf("Service selects %s=%v, pods have %v", k, v, labels[k])
		}
	}
	if got := d.get("spec", "selector", "matchLabels"); !cmp.Equal(got, svc.get("spec", "selector")) {
		t.Errorf("Deployment selector %v != Service selector %v", got, svc.get("spec", "selector"))
	}
}

func checkAllFeatures(t *testing.T, docs []manifest) {
	d := find(t, docs, "Deployment")
	name := d.str("metadata", "name")
	if _, ok := d.get("spec")["replicas"]; ok {
		t.Error("replicas is set although the HorizontalPodAutoscaler owns it")
	}
	hpa := find(t, docs, "HorizontalPodAutoscaler")
	if got := hpa.str("spec", "scaleTargetRef", "name"); got != name || hpa.str("spec", "scaleTargetRef", "kind") != "Deployment" {
		t.Errorf("HPA targets %q, want Deployment %q", got, name)
	}
	if hpa.int("spec", "minReplicas") != 2 || hpa.int("spec", "maxReplicas") != 6 {
		t.Errorf("HPA replicas = %v", hpa.get("spec"))
	}
	pdb := find(t, docs, "PodDisruptionBudget")
	if pdb.int("spec", "minAvailable") != 1 || !cmp.Equal(pdb.get("spec", "selector", "matchLabels"), d.get("spec", "selector", "matchLabels")) {
		t.Errorf("PDB spec = %v", pdb.get("spec"))
	}
	sm := find(t, docs, "ServiceMonitor")
	ep := manifest(sm.list("spec", "endpoints")[0].(map[string]any))
	if ep.str("port") != "metrics" || ep.str("path") != "/metrics" {
		t.Errorf("ServiceMonitor endpoint = %v, want port metrics, path /metrics", ep)
	}
	if sm.str("metadata", "labels", "release") != "kube-prometheus-stack" {
		t.Errorf("ServiceMonitor labels = %v", sm.get("metadata", "labels"))
	}
	svc := find(t, docs, "Service")
	var svcPorts []string
	for _, p := range svc.list("spec", "ports") {
		svcPorts = append(svcPorts, manifest(p.(map[string]any)).str("name"))
	}
	if !slices.Contains(svcPorts, "metrics") {
		t.Errorf("Service ports %v lack the metrics port the ServiceMonitor scrapes", svcPorts)
	}
	for k, v := range sm.get("spec", "selector", "matchLabels") {
		if svc.get("metadata", "labels")[k] != v {
			t.Errorf("ServiceMonitor selects %s=%v; the Service is labelled %v", k, v, svc.get("metadata", "labels"))
		}
	}
	// Secret references: files for the config's *_file keys, and env.
	c := d.container(t)
	for vol, secret := range map[string]string{"store-key": "credserver-store-key", "github-app": "credserver-github-app"} {
		if got := d.podVolume(t, vol).str("secret", "secretName"); got != secret {
			t.Errorf("volume %s is Secret %q, want %q", vol, got, secret)
		}
		if c.mountPath(t, vol) == "" {
			t.Errorf("Secret volume %s is not mounted", vol)
		}
	}
	if got := manifest(c.list("envFrom")[0].(map[string]any)).str("secretRef", "name"); got != "credserver-minio" {
		t.Errorf("envFrom secretRef = %q, want credserver-minio", got)
	}
	sa := find(t, docs, "ServiceAccount")
	if sa.str("metadata", "annotations", "eks.amazonaws.com/role-arn") == "" {
		t.Error("ServiceAccount lacks the IRSA annotation from values")
	}
	if d.str("spec", "template", "metadata", "labels", "team") != "data" {
		t.Error("podLabels are not on the pods")
	}
}

// TestTemplateMountsWebSecrets: with hubApiToken and sessionKey the chart
// mounts both Secrets and points hub.api_token_file and
// web.session_key_file at the files, which the config then validates with
// the page on.
func TestTemplateMountsWebSecrets(t *testing.T) {
	docs := render(t, "testdata/all-features.yaml")
	cfg, err := config.Parse([]byte(find(t, docs, "ConfigMap").str("data", "config.yaml")))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Web.On(cfg.Hub) {
		t.Error("the web page is off with both Secrets set")
	}
	d := find(t, docs, "Deployment")
	for vol, file := range map[string]string{"hub-api-token": cfg.Hub.APITokenFile, "session-key": cfg.Web.SessionKeyFile} {
		v := d.podVolume(t, vol)
		item := manifest(v.list("secret", "items")[0].(map[string]any))
		var mount string
		for _, m := range manifest(d.list("spec", "template", "spec", "containers")[0].(map[string]any)).list("volumeMounts") {
			if mm := manifest(m.(map[string]any)); mm.str("name") == vol {
				mount = mm.str("mountPath")
			}
		}
		if got := mount + "/" + item.str("path"); got != file {
			t.Errorf("volume %s is mounted as %s, the config names %s", vol, got, file)
		}
	}
	if got := d.podVolume(t, "session-key").str("secret", "secretName"); got != "credserver-session-key" {
		t.Errorf("session key Secret = %q", got)
	}
}
