"""``make serve-flask`` / ``make serve-fastapi``: one twin on its usual server, ready to query.

Starts the embedded Milvus if none runs (unless ``MILVUS_URI`` names one), loads the demo
corpus if the collection lacks it, then runs the server in the foreground. On Ctrl-C it
stops the server; the embedded Milvus stops with the last command that uses it (both twins
served side by side share one), unless ``make milvus-up`` started it: nothing is left running.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys

from shared.config import Settings, get_settings
from shared.corpus import ensure_corpus_loaded
from shared.launcher import OwnedProcess, milvus_for
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
    with contextlib.ExitStack() as stack:
        if stack.enter_context(milvus_for(settings)):
            # "started <backend> at <uri>": the tests look for this line.
            print(
                f"started {settings.milvus_backend} at {settings.effective_milvus_uri} "
                "(stopped when the last command using it stops)",
                file=sys.stderr,
            )
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
        # In our process group: Ctrl-C in the terminal reaches the server as it reaches us.
        server = OwnedProcess(
            command, log_path=None, env={**os.environ, **spec.env()}, own_group=False
        )
        stack.callback(server.stop, 30.0)
        try:
            return server.proc.wait()
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    raise SystemExit(main())
