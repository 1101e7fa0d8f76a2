package auth

import (
	"fmt"
	"slices"
)

// ServiceAccessScopes returns the scopes of which a token must carry one to
// be meant for the hub service named service: access:services (every
// service) or access:services!service=<service>. The hub lists a token's
// scopes expanded and reduced, so these exact strings are what appear in
// its /user answer: JupyterHub resolves the !service filter to the
// service's name and drops the filtered form when the unfiltered one is
// held too.
func ServiceAccessScopes(service string) []string {
	return []string{"access:services", "access:services!service=" + service}
}

// checkServiceAccess refuses a token whose scopes give no access to this
// service. Tokens that the hub issued to another OAuth client carry that
// client's access scope instead (access:services!service=<other> or
// access:servers!server=<user>/), so holding one of them must not be
// enough to get a user's credentials here.
func (h *Hub) checkServiceAccess(scopes []string) error {
	if h.accessScopes == nil {
		return nil
	}
	for _, s := range h.accessScopes {
		if slices.Contains(scopes, s) {
			return nil
		}
	}
	want := h.accessScopes[1]
	return fmt.Errorf("%w: the token lacks the scope %s (tokens issued to another service or to a user's server are refused); "+
		"use your server's JUPYTERHUB_API_TOKEN or a hub token that has this scope. "+
		"Hub admin: add %s to the 'user' and 'server' roles in load_roles "+
		"(JupyterHub 4+: also Spawner.server_token_scopes), as deploy/jupyterhub/jupyterhub_config.py does",
		ErrNotForService, want, want)
}
