"""`musclemap serve`: the local web app and REST API."""

from __future__ import annotations

from pathlib import Path

import typer

from musclemap.cli.app import app
from musclemap.errors import ConfigError


@app.command()
def serve(
    host: str = typer.Option(
        "127.0.0.1",
        help="Address to bind. Any other than loopback (e.g. 0.0.0.0) needs --token.",
    ),
    port: int = typer.Option(8000, min=0, max=65535, help="TCP port (0: any free port)."),
    max_upload_mb: float = typer.Option(200.0, min=0.001, help="Largest accepted upload (MB)."),
    workers: int = typer.Option(1, min=1, help="Worker processes running predictions."),
    queue_size: int = typer.Option(8, min=0, help="Jobs that may wait for a worker (then 429)."),
    checkpoint: Path | None = typer.Option(
        None, "--checkpoint", help="Model checkpoint (default: the packaged model)."
    ),
    device: str = typer.Option("cpu", help="Torch device for inference."),
    fps: float | None = typer.Option(
        None, min=0.5, max=30.0, help="Frames analysed per second (default: the model's)."
    ),
    data_dir: Path | None = typer.Option(
        None,
        "--data-dir",
        help="Jobs and results, kept across restarts "
        "(default: $MUSCLEMAP_DATA, else ~/.local/share/musclemap).",
    ),
    keep_finished: int = typer.Option(
        100, min=1, help="Finished jobs kept; the oldest are forgotten beyond it."
    ),
    token: str | None = typer.Option(
        None,
        envvar="MUSCLEMAP_TOKEN",
        show_envvar=True,
        help="Secret every request must carry (16+ characters); required off loopback.",
    ),
    allow_host: list[str] = typer.Option(
        [],
        "--allow-host",
        help="Another accepted Host name, e.g. a reverse proxy's (repeatable; '*': any).",
    ),
    allow_origin: list[str] = typer.Option(
        [],
        "--allow-origin",
        help="Another origin allowed to POST from a browser, e.g. https://app.example "
        "(repeatable).",
    ),
) -> None:
    """Start the web app: drop a video in the browser, see the muscle map (also a REST API)."""
    try:
        import uvicorn  # noqa: F401

        from musclemap.web.app import ServerSettings, run_server
        from musclemap.web.store import default_data_dir
    except ImportError as err:
        raise ConfigError(
            f"the web app needs the [web] extra ({err.name} is missing): "
            "pip install 'musclemap[web]'"
        ) from None
    if checkpoint is not None and not checkpoint.exists():  # a run folder is fine, as for predict
        raise ConfigError(f"checkpoint not found: {checkpoint}")
    from musclemap.cli.predict import worker_count

    settings = ServerSettings(
        max_upload_mb=max_upload_mb,
        workers=worker_count(workers),  # a MediaPipe process each: not more than the cores
        queue_size=queue_size,
        default_fps=fps,
        checkpoint=checkpoint,
        device=device,
        data_dir=data_dir or default_data_dir(),
        keep_finished=keep_finished,
        host=host,
        allowed_hosts=tuple(allow_host),
        allowed_origins=tuple(allow_origin),
        token=token or None,
    )
    run_server(settings, port)
