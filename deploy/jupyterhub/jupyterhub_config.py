# credserver: register the credential service with JupyterHub.
#
# Append this file to your jupyterhub_config.py, or load it from there:
#
#     exec(open("/etc/jupyterhub/credserver_config.py").read())
#
# Every value comes from the hub process's environment, so one copy of this
# file serves every deployment:
#
#   CREDSERVER_URL        credserver's own address, where the hub's proxy sends
#                         $JUPYTERHUB_URL/services/credserver/ (default
#                         http://credserver:8080, the Helm chart's Service).
#   CREDSERVER_API_TOKEN  the service's own API token: the same secret as the
#                         file credserver's hub.api_token_file names. It is the
#                         web page's OAuth client secret and lets credserver
#                         read users' groups (role below: read:users) for
#                         delegation tokens and admin explain. Without it the
#                         API still works, but the page and delegation do not.
#   CREDSERVER_USER_URL   what user servers get as CREDSERVER_URL (default:
#                         CREDSERVER_URL + /services/credserver, the direct
#                         route; $JUPYTERHUB_URL/services/credserver via the
#                         proxy works too).
#
# credserver's config must say `base_path: /services/credserver`, because the
# proxy forwards the full path, and `hub.api_url` must reach this hub's API.
#
# This exact file is what integration/hubservice_test.go runs a real
# JupyterHub with.
import os

c = get_config()  # noqa: F821

_credserver_url = os.environ.get("CREDSERVER_URL", "http://credserver:8080").rstrip("/")
_credserver_service = {
    "name": "credserver",
    # The proxy routes /services/credserver/ to this address; the hub also
    # probes it at start (credserver answers GET {base}/ without a token).
    "url": _credserver_url,
    # On the hub's Services menu: "Your credentials", the page at
    # /services/credserver/ (grants, snippets, GitHub link, tokens).
    "display": True,
}
if os.environ.get("CREDSERVER_API_TOKEN"):
    _credserver_service["api_token"] = os.environ["CREDSERVER_API_TOKEN"]
    # The page logs users in with the hub's OAuth: credserver is the OAuth
    # client "service-credserver", this token its client secret, and the
    # redirect URI is the one credserver sends (web.oauth_redirect_uri; this
    # is JupyterHub's own default for a service, written out).
    _credserver_service["oauth_redirect_uri"] = "/services/credserver/oauth_callback"
    # No "Authorize access" screen: the page only reads who the user is.
    _credserver_service["oauth_no_confirm"] = True
    # read:users: the groups and admin flag of a delegation token's owner
    # and of the user an admin explains.
    c.JupyterHub.load_roles.append(
        {"name": "credserver-service", "scopes": ["read:users"], "services": ["credserver"]}
    )
# append: keep services configured earlier in the file.
c.JupyterHub.services.append(_credserver_service)

# User servers learn where credserver is; credctl reads CREDSERVER_URL and
# the token JupyterHub already gives them (JUPYTERHUB_API_TOKEN).
c.Spawner.environment.update(
    {
        "CREDSERVER_URL": os.environ.get(
            "CREDSERVER_USER_URL", _credserver_url + "/services/credserver"
        ),
    }
)

# JupyterHub 4 or later, optional: only users holding a custom scope may use
# credserver. Uncomment, and set `hub.require_scopes: [custom:credserver:use]`
# in credserver's config. The server token (JUPYTERHUB_API_TOKEN) must carry
# the scope too, hence server_token_scopes. Grant it unfiltered (no !user):
# credserver compares scope names exactly.
#
# c.JupyterHub.custom_scopes = {
#     "custom:credserver:use": {"description": "Get credentials from credserver"},
# }
# c.JupyterHub.load_roles.append(
#     {"name": "user", "scopes": ["self", "custom:credserver:use"]}
# )
# c.Spawner.server_token_scopes = [
#     "users:activity!user",
#     "access:servers!server",
#     "custom:credserver:use",
# ]
