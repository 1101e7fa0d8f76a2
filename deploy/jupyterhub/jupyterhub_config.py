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
#                         https://<your hub>/services/credserver/ (default
#                         http://credserver:8080, the Helm chart's Service).
#   CREDSERVER_API_TOKEN  the service's own API token: the same secret as the
#                         file credserver's hub.api_token_file names. It is the
#                         web page's OAuth client secret and lets credserver
#                         read users' groups (role below: read:users) for
#                         delegation tokens and admin explain. Without it the
#                         API still works, but the page and delegation do not.
#   CREDSERVER_USER_URL   what user servers get as CREDSERVER_URL (default:
#                         CREDSERVER_URL + /services/credserver, the direct
#                         route; https://<your hub>/services/credserver via the
#                         proxy works too).
#   CREDSERVER_SERVICE_NAME  the service's name at the hub (default
#                         credserver); credserver's hub.service_name must match.
#
# credserver's config must say `base_path: /services/credserver`, because the
# proxy forwards the full path, and `hub.api_url` must reach this hub's API.
#
# This exact file is what integration/hubservice_test.go runs a real
# JupyterHub with.
import os

c = get_config()  # noqa: F821

_credserver_url = os.environ.get("CREDSERVER_URL", "http://credserver:8080").rstrip("/")
_credserver_name = os.environ.get("CREDSERVER_SERVICE_NAME", "credserver")
_credserver_service = {
    "name": _credserver_name,
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
    _credserver_service["oauth_redirect_uri"] = "/services/" + _credserver_name + "/oauth_callback"
    # No "Authorize access" screen: the page only reads who the user is.
    _credserver_service["oauth_no_confirm"] = True
    # read:users: the groups and admin flag of a delegation token's owner
    # and of the user an admin explains.
    c.JupyterHub.load_roles.append(
        {"name": _credserver_name + "-service", "scopes": ["read:users"], "services": [_credserver_name]}
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

# Only tokens meant for credserver are accepted (its hub.require_service_access,
# on by default): the hub must list access:services!service=credserver among a
# token's scopes. A token the hub issued to another OAuth client (a dashboard
# service, a user's server that an admin opened) lacks it and is refused, so
# whoever runs that client cannot take its visitors' cloud credentials.
#
# Grant the scope to users' own tokens: the `user` role (personal tokens made
# on the hub's token page, which inherit the user's scopes) and the `server`
# role (each server's JUPYTERHUB_API_TOKEN). Redefining a default role replaces
# its scopes, so the hub's own are kept beside the added one (JupyterHub 3's
# defaults, jupyterhub/roles.py: `self` for user; `users:activity!user` and
# `access:servers!user` for server). A role defined earlier in this file (or
# by z2jh's hub.loadRoles) is extended rather than redefined: the hub refuses
# a role defined twice.
_credserver_scope = "access:services!service=" + _credserver_name
_credserver_role_defaults = {
    "user": ["self"],
    "server": ["users:activity!user", "access:servers!user"],
}
_load_roles = c.JupyterHub.load_roles
if not isinstance(_load_roles, list):
    # Not assigned earlier: a lazy value holding any appends made so far.
    _load_roles = list(_load_roles.get_value([]))
    c.JupyterHub.load_roles = _load_roles
for _role_name, _role_scopes in _credserver_role_defaults.items():
    _role = next((r for r in _load_roles if r.get("name") == _role_name), None)
    if _role is None:
        _role = {"name": _role_name}
        _load_roles.append(_role)
    _role.setdefault("scopes", list(_role_scopes))
    if _credserver_scope not in _role["scopes"]:
        _role["scopes"] = list(_role["scopes"]) + [_credserver_scope]

# JupyterHub 4 or later names the server token's scopes directly
# (Spawner.server_token_scopes, which JupyterHub 3 does not have); when set
# there they win over the server role, so the scope goes there too.
import inspect  # noqa: E402

import jupyterhub  # noqa: E402

if int(jupyterhub.__version__.split(".")[0]) >= 4:
    _server_token_scopes = c.Spawner.server_token_scopes
    if callable(_server_token_scopes):
        # The admin's own function: add the scope to what it returns.
        async def _with_credserver_scope(spawner, _f=_server_token_scopes):
            scopes = _f(spawner)
            if inspect.isawaitable(scopes):
                scopes = await scopes
            return list(scopes) + [_credserver_scope]

        c.Spawner.server_token_scopes = _with_credserver_scope
    else:
        if not isinstance(_server_token_scopes, list) or not _server_token_scopes:
            _server_token_scopes = ["users:activity!user", "access:servers!server"]
        if _credserver_scope not in _server_token_scopes:
            _server_token_scopes = list(_server_token_scopes) + [_credserver_scope]
        c.Spawner.server_token_scopes = _server_token_scopes

# JupyterHub 4 or later, optional: only users holding a custom scope may use
# credserver. Uncomment, and set `hub.require_scopes: [custom:credserver:use]`
# in credserver's config. The server token (JUPYTERHUB_API_TOKEN) must carry
# the scope too, hence server_token_scopes. Grant it unfiltered (no !user):
# credserver compares scope names exactly.
#
# c.JupyterHub.custom_scopes = {
#     "custom:credserver:use": {"description": "Get credentials from credserver"},
# }
# for _role in c.JupyterHub.load_roles:
#     if _role["name"] in ("user", "server"):
#         _role["scopes"].append("custom:credserver:use")
# if int(jupyterhub.__version__.split(".")[0]) >= 4:
#     c.Spawner.server_token_scopes.append("custom:credserver:use")

# --- credserver: SCRATCH_BUCKET per user (begin) ---
# Each user server gets SCRATCH_BUCKET (no trailing slash, the hub
# convention: f"{SCRATCH_BUCKET}/file") and SCRATCH_URL (with the slash)
# from credserver's own answer for that user: the location of the grant
# named by CREDSERVER_SCRATCH_GRANT (default "scratch") in GET /v1/whoami,
# asked with the server's own new token. A user whose name is not a plain
# path segment ("a b", "émile") lives at an encoded prefix only credserver
# computes. When credserver cannot answer, or the user has no such grant,
# the variables are left unset rather than guessed. The z2jh values carry
# this same block (deploy/helm/scratchhook_test.go keeps them identical).
import json as _credserver_json
import os as _credserver_os


async def _credserver_scratch_env(spawner):
    from tornado.httpclient import AsyncHTTPClient, HTTPRequest

    grant = _credserver_os.environ.get("CREDSERVER_SCRATCH_GRANT", "scratch")
    url = _credserver_os.environ.get("CREDSERVER_USER_URL") or (
        _credserver_os.environ.get("CREDSERVER_URL", "http://credserver:8080").rstrip("/")
        + "/services/credserver"
    )
    location = None
    try:
        resp = await AsyncHTTPClient().fetch(
            HTTPRequest(
                url.rstrip("/") + "/v1/whoami",
                headers={"Authorization": "token " + spawner.api_token},
                follow_redirects=False,
                request_timeout=10,
            ),
            raise_error=False,
        )
        if resp.code == 200:
            for g in _credserver_json.loads(resp.body).get("grants", []):
                if g.get("name") == grant and isinstance(g.get("location"), str):
                    location = g["location"]
        else:
            spawner.log.warning(
                "credserver: whoami for %s answered %s; SCRATCH_BUCKET not set",
                spawner.user.name, resp.code,
            )
    except Exception as e:  # never block a spawn on credserver
        spawner.log.warning(
            "credserver: whoami for %s failed (%s); SCRATCH_BUCKET not set",
            spawner.user.name, type(e).__name__,
        )
    env = dict(spawner.environment)
    for name in ("SCRATCH_BUCKET", "SCRATCH_URL"):
        env.pop(name, None)  # never a stale or admin-guessed value
    if location and location.endswith("/"):
        env["SCRATCH_URL"] = location
        env["SCRATCH_BUCKET"] = location.rstrip("/")
    spawner.environment = env


def _credserver_chain(previous):
    async def hook(spawner):
        if previous is not None:
            r = previous(spawner)
            if hasattr(r, "__await__"):
                await r
        await _credserver_scratch_env(spawner)

    return hook


c.Spawner.pre_spawn_hook = _credserver_chain(
    c.Spawner.pre_spawn_hook if "pre_spawn_hook" in c.Spawner else None
)
# --- credserver: SCRATCH_BUCKET per user (end) ---
