// Package helm holds the credserver Helm chart (deploy/helm/credserver) and
// its tests, which run the real helm (built by scripts/install-peers.sh at a
// pinned version) to lint the chart and render it with the default values
// and with every optional feature on, then check the rendered manifests:
// kinds, probes, the z2jh network label, the security context, and that the
// rendered config file is one credserver accepts.
package helm
