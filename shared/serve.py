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

from shared.config import get_settings
from shared.corpus import ensure_corpus_loaded
from shared.milvus_server import server_status, start_server, stop_server
from shared.servers import DEFAULT_SERVER, SERVER_KINDS, ServerSpec, server_argv

__all__ = ["main"]


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
        default_port = settings.flask_port if args.app == "flask" else settings.fastapi_port
        spec = ServerSpec(
            app=args.app,
            server=args.server or DEFAULT_SERVER[args.app],
            workers=args.workers or settings.workers,
            threads=settings.blocking_threads,
            host=settings.host,
            port=args.port or default_port,
            access_log=args.access_log or settings.access_log,
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
