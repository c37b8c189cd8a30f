#!/usr/bin/env python3
"""Render deploy/nginx/meeting-agent.conf into a complete nginx.conf for a test prefix.

Tests and `scripts/check-deploy.sh` run the committed site configuration, not a copy:
only the lines tagged `# listen`, `# upstream-servers`, `# certificate` ... change, and
rendering fails if a tag is missing, so the file and this script cannot drift apart.

    python scripts/render_nginx_conf.py PREFIX --upstream 127.0.0.1:50051 \
        --port 8443 --cert cert.pem --key key.pem      # prints PREFIX/nginx.conf
    nginx -p PREFIX -c PREFIX/nginx.conf -t
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

SITE = Path(__file__).resolve().parents[1] / "deploy" / "nginx" / "meeting-agent.conf"

# Everything nginx itself needs, kept inside the prefix so no root-owned path is touched.
_MAIN = """\
daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
{user}
events {{ worker_connections 256; }}

http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;

    include {site};
}}
"""


def _replace_tagged(text: str, tag: str, line: str) -> str:
    pattern = re.compile(rf"^(\s*).*# {re.escape(tag)}$", re.MULTILINE)
    if not pattern.search(text):
        raise ValueError(f"{SITE} has no line tagged '# {tag}'")
    return pattern.sub(lambda m: f"{m.group(1)}{line}  # {tag}", text)


def render(prefix: Path, *, upstream: str, port: int, cert: Path, key: Path) -> Path:
    """Write PREFIX/site.conf and PREFIX/nginx.conf; return the latter."""
    prefix.mkdir(parents=True, exist_ok=True)
    site = SITE.read_text()
    site = _replace_tagged(site, "upstream-servers", f"server {upstream};")
    site = _replace_tagged(site, "listen", f"listen 127.0.0.1:{port} ssl http2;")
    site = _replace_tagged(site, "listen-ipv6", "")
    site = _replace_tagged(site, "certificate", f"ssl_certificate     {cert};")
    site = _replace_tagged(site, "certificate-key", f"ssl_certificate_key {key};")
    (prefix / "site.conf").write_text(site)
    # As root, nginx's workers would switch to `nobody`, who cannot read a private prefix.
    user = "user root;" if os.geteuid() == 0 else ""
    conf = prefix / "nginx.conf"
    conf.write_text(_MAIN.format(prefix=prefix, site=prefix / "site.conf", user=user))
    return conf


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("prefix", type=Path)
    parser.add_argument("--upstream", default="127.0.0.1:50051")
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument("--cert", type=Path, required=True)
    parser.add_argument("--key", type=Path, required=True)
    args = parser.parse_args()
    print(
        render(
            args.prefix.resolve(),
            upstream=args.upstream,
            port=args.port,
            cert=args.cert.resolve(),
            key=args.key.resolve(),
        )
    )


if __name__ == "__main__":
    main()
