package peers

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"text/template"
)

// hubConfig is what jupyterhub_config.py is rendered from.
type hubConfig struct {
	Dir          string
	HubPort      int
	PublicPort   int
	ProxyAPIPort int
	AdminToken   string
	ServiceToken string
	// ProxyCommand is the configurable-http-proxy to run; empty selects the
	// no-op proxy.
	ProxyCommand string
	ProxyToken   string
	// BareRoles leaves the user and server roles as JupyterHub defines them.
	BareRoles bool
	Extra     string
}

// CredserverAccessScope is the scope the hub must list for a token to be
// accepted by a credserver named "credserver" (its default hub.service_name).
const CredserverAccessScope = "access:services!service=credserver"

// userRoleScopes and serverRoleScopes are what a hub configured with
// deploy/jupyterhub's snippet gives the user and server roles: JupyterHub 3's
// defaults plus CredserverAccessScope.
var (
	userRoleScopes   = []string{"self", CredserverAccessScope}
	serverRoleScopes = []string{"users:activity!user", "access:servers!user", CredserverAccessScope}
)

// adminScopes are the scopes of the test-admin service: enough to create
// users and groups and to mint tokens for users.
var adminScopes = []string{"admin:users", "admin:groups", "tokens"}

var hubConfigTemplate = template.Must(template.New("jupyterhub_config.py").Funcs(template.FuncMap{
	"py":   pyLiteral,
	"path": func(dir, name string) string { return pyLiteral(filepath.Join(dir, name)) },
}).Parse(`# Written by credserver internal/peers for one test hub; do not edit.
from jupyterhub.proxy import Proxy
from traitlets import Bool


class NoopProxy(Proxy):
    """No proxy process and no routes: only the hub's own API is served."""

    should_start = Bool(False)

    async def add_route(self, routespec, target, data):
        pass

    async def delete_route(self, routespec):
        pass

    async def get_all_routes(self):
        return {}


c = get_config()  # noqa: F821
c.JupyterHub.authenticator_class = "dummy"
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {{.PublicPort}}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {{.HubPort}}
c.JupyterHub.db_url = "sqlite:///" + {{path .Dir "jupyterhub.sqlite"}}
c.JupyterHub.cookie_secret_file = {{path .Dir "jupyterhub_cookie_secret"}}
c.JupyterHub.pid_file = {{path .Dir "jupyterhub.pid"}}
{{- if .ProxyCommand}}
c.ConfigurableHTTPProxy.command = [{{py .ProxyCommand}}]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{{.ProxyAPIPort}}"
c.ConfigurableHTTPProxy.auth_token = {{py .ProxyToken}}
c.ConfigurableHTTPProxy.pid_file = {{path .Dir "jupyterhub-proxy.pid"}}
{{- else}}
c.JupyterHub.proxy_class = NoopProxy
{{- end}}
c.JupyterHub.services = [
    {"name": "test-admin", "api_token": {{py .AdminToken}}},
    {"name": "test-service", "api_token": {{py .ServiceToken}}},
]
c.JupyterHub.load_roles = [
    {"name": "test-admin", "scopes": {{py .AdminScopes}}, "services": ["test-admin"]},
{{- if not .BareRoles}}
    {"name": "user", "scopes": {{py .UserRoleScopes}}},
    {"name": "server", "scopes": {{py .ServerRoleScopes}}},
{{- end}}
]
{{- if .Extra}}

# ExtraConfig
{{.Extra}}
{{- end}}
`))

// AdminScopes, UserRoleScopes and ServerRoleScopes are used by the template.
func (c hubConfig) AdminScopes() []string      { return adminScopes }
func (c hubConfig) UserRoleScopes() []string   { return userRoleScopes }
func (c hubConfig) ServerRoleScopes() []string { return serverRoleScopes }

func (c hubConfig) render() []byte {
	var b bytes.Buffer
	if err := hubConfigTemplate.Execute(&b, c); err != nil {
		panic("peers: hub config template: " + err.Error()) // a bug in the template
	}
	b.WriteByte('\n')
	return b.Bytes()
}

// pyLiteral renders a string or list of strings as a Python literal. JSON
// strings and arrays of them are valid Python, escapes included.
func pyLiteral(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic("peers: python literal: " + err.Error()) // only strings are passed
	}
	return string(b)
}
