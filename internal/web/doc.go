// Package web serves the page at {base}/ that the hub's Services menu links
// to: the user's grants with copy-ready snippets, the GitHub link (device
// flow in the page), delegation tokens, and for hub admins the explain form.
//
// Login is the hub's OAuth (authorization-code flow, credserver being the
// hub's OAuth client "service-<hub.service_name>"). The hub token obtained
// is sealed (AES-256-GCM) into a session cookie scoped to {base}; it is
// never shown, and every page load checks it through the same
// auth.Authenticator as the API, so a revoked token ends the session within
// hub.cache_ttl. Every state-changing request carries a CSRF token and must
// come from this origin; every response carries a strict
// Content-Security-Policy with a per-response script nonce.
//
// The package knows nothing of the API's handlers: the server implements
// [Backend] and mounts [Page.Mount] on its router.
package web
