"""``make serve-flask`` / ``make serve-fastapi``: one twin on its usual server, ready to query.

Starts the embedded Milvus if none runs (unless ``MILVUS_URI`` names one), loads the demo
corpus if the collection lacks it, then runs the server in the foreground. On Ctrl-C it
stops the server, and Milvus too if this command started it: nothing is left running.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys

from shared.config import Settings, get_settings
from shared.corpus import ensure_corpus_loaded
from shared.milvus_server import server_status, start_server, stop_server
from shared.servers import SERVER_KINDS, ServerSpec, server_argv

__all__ = ["main", "serve_spec"]


def serve_spec(
    app: str,
    settings: Settings,
    *,
    server: str | None = None,
    workers: int | None = None,
    port: int | None = None,
    access_log: bool = False,
) -> ServerSpec:
    """How ``make serve-<app>`` serves the twin: the settings, unless the command line says."""
    default_port = settings.flask_port if app == "flask" else settings.fastapi_port
    return ServerSpec(
        app=app,
        server=server or (settings.flask_server if app == "flask" else settings.fastapi_server),
        workers=workers or settings.workers,
        threads=settings.blocking_threads,
        host=settings.host,
        port=port or default_port,
        access_log=access_log or settings.access_log,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.serve", description=__doc__)
    parser.add_argument("app", choices=["flask", "fastapi"])
    parser.add_argument("--server", choices=sorted(SERVER_KINDS), default=None)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--access-log", action="store_true", help="log every request")
    parser.add_argument("--no-demo-data", action="store_true", help="do not load the corpus")
    args = parser.parse_args(argv)

    # SIGTERM (from a supervisor, `timeout`, CI) must run the clean-up below, like Ctrl-C.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    settings = get_settings()
    started_milvus = False
    if settings.embedded_milvus and not server_status(settings).get("running"):
        state = start_server(settings)
        started_milvus = True
        print(f"started {state.backend} at {state.uri}", file=sys.stderr)
    server: subprocess.Popen[bytes] | None = None
    try:
        if not args.no_demo_data:
            ensure_corpus_loaded(settings)
        spec = serve_spec(
            args.app,
            settings,
            server=args.server,
            workers=args.workers,
            port=args.port,
            access_log=args.access_log,
        )
        command = server_argv(spec)
        print(f"serving the {args.app} twin at http://{spec.host}:{spec.port}  (docs: /docs)")
        print("$ " + " ".join(command), file=sys.stderr)
        server = subprocess.Popen(command, env={**os.environ, **spec.env()})
        return server.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        if started_milvus:
            stop_server(settings)
            print("stopped the Milvus this command started", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
