"""The web app's commands: ``serve`` (the app) and ``link`` (a signed, expiring sign-in link)."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import click

from triage.app import open_db
from triage.cli.app import Context, cli, pass_ctx
from triage.errors import ConfigError
from triage.publish import resolve_am
from triage.web.auth import Signer, safe_next

__all__: list[str] = []

_TTL = re.compile(r"^(\d+(?:\.\d+)?)([mhd])$")


def _ttl_seconds(text: str) -> float:
    m = _TTL.match(text.strip().lower())
    if not m:
        raise click.BadParameter("use a number and m, h or d, e.g. 30m, 12h, 2d")
    return float(m.group(1)) * {"m": 60, "h": 3600, "d": 86400}[m.group(2)]


@cli.command(epilog="""\b
Examples:
  export TRIAGE_SERVE_SECRET="$(openssl rand -base64 32)"   # in the service's environment
  triage serve                          # http://127.0.0.1:8765 (binds loopback only)
  triage serve --port 9000
Put it behind a TLS reverse proxy to reach it from other machines (docs/web.md); AMs sign in with
`triage link --am NAME` or the link in their digest, or through your SSO proxy ([serve] proxy_header).""")
@click.option("--host", help="Address to bind (default: [serve] host, 127.0.0.1).")
@click.option("--port", type=int, help="Port (default: [serve] port, 8765).")
@pass_ctx
def serve(ctx: Context, host: str | None, port: int | None) -> None:
    """Serve the list where AMs act: sign-in, their accounts only, one-click actions (Ctrl-C stops)."""
    import uvicorn

    from triage.web import create_app

    cfg = ctx.settings.serve
    app = create_app(ctx.settings)
    where = f"http://{host or cfg.host}:{port or cfg.port}"
    click.echo(f"triage serve: {where} (sign-in links point to {cfg.base_url})", err=True)
    # uvicorn's own access log would print query strings (sign-in tokens): ours logs paths only
    uvicorn.run(app, host=host or cfg.host, port=port or cfg.port, access_log=False, log_level="warning",
                server_header=False, proxy_headers=False)


@cli.command(epilog="""\b
Examples:
  triage link --am "Luis Romero"                 # valid 12 h ([serve] link_ttl_hours)
  triage link --am dana@northwind.example --ttl 2d --next /accounts/acme
The link signs in once per browser; signing out makes it stop working. Managers ([serve] managers)
get a link with --am and their address too.""")
@click.option("--am", "am", required=True, help="The AM (name or e-mail, one match) or a manager's address.")
@click.option("--ttl", help="How long the link works: 30m, 12h, 2d (default: [serve] link_ttl_hours).")
@click.option("--next", "next_path", help="Page to open after signing in, e.g. /accounts/acme.")
@pass_ctx
def link(ctx: Context, am: str, ttl: str | None, next_path: str | None) -> None:
    """Print a signed, expiring sign-in link for an AM (or a manager)."""
    cfg = ctx.settings.serve
    managers = {m.strip().lower() for m in cfg.managers}
    if am.strip().lower() in managers:
        key = am.strip().lower()
    else:
        name, email = resolve_am(open_db(ctx.settings, migrate=False), am)
        key = (email or name or "").lower()
    if not key:
        raise ConfigError(f"--am {am!r} has neither an e-mail nor a name in the accounts file")
    seconds = _ttl_seconds(ttl) if ttl else cfg.link_ttl_hours * 3600
    token, _ = Signer(cfg.secret().get_secret_value()).link(key, seconds)
    query = {"t": token, **({"next": safe_next(next_path)} if next_path else {})}
    click.echo(f"{cfg.base_url}/login?{urlencode(query)}")
