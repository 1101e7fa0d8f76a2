// Package deploy holds what hub admins deploy credserver with: the Helm
// chart (deploy/helm), the JupyterHub and zero-to-jupyterhub snippets
// (deploy/jupyterhub) and example configs (deploy/examples). Its tests
// check the repository's Dockerfile by running its build command and the
// example configs by loading them.
package deploy
