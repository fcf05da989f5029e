"""`musclemap serve`: the local web app and REST API."""

from __future__ import annotations

from pathlib import Path

import typer

from musclemap.cli.app import app
from musclemap.errors import ConfigError


@app.command()
def serve(
    host: str = typer.Option(
        "127.0.0.1", help="Address to bind; 0.0.0.0 exposes it to the network."
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
) -> None:
    """Start the web app: drop a video in the browser, see the muscle map (also a REST API)."""
    try:
        import uvicorn

        from musclemap.web.app import ServerSettings, create_app
    except ImportError as err:
        raise ConfigError(
            f"the web app needs the [web] extra ({err.name} is missing): "
            "pip install 'musclemap[web]'"
        ) from None
    if checkpoint is not None and not checkpoint.is_file():
        raise ConfigError(f"checkpoint not found: {checkpoint}")
    settings = ServerSettings(
        max_upload_mb=max_upload_mb,
        workers=workers,
        queue_size=queue_size,
        default_fps=fps,
        checkpoint=checkpoint,
        device=device,
    )
    if host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(
            f"warning: listening on {host}: anyone who can reach it may upload videos", err=True
        )
    typer.echo(
        f"MuscleMap on http://{'localhost' if host == '127.0.0.1' else host}:{port} "
        "(Ctrl+C to stop)"
    )
    # One server process: the jobs live in its memory, inference runs in its worker processes.
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
