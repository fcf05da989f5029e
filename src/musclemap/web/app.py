"""The web app: a drop-a-video page and a REST API over `musclemap.predictor.Predictor`.

A thin layer: uploads are checked and stored here, inference and drawing run in worker processes
(`musclemap.web.jobs`), jobs and results are kept in the data directory (`musclemap.web.store`),
and the page (static HTML/JS/CSS shipped in the package) does the rest. The explain endpoint
(`musclemap.web.explain`) scores a finished job's stored poses in the server process. Every request
passes the Host, Origin and token checks of `guard` first.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import math
import re
import socket
import sys
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.requests import ClientDisconnect

from musclemap import __version__
from musclemap.errors import ConfigError
from musclemap.pose.orientation import ROTATE_CHOICES, rotation_of
from musclemap.taxonomy import MUSCLE_GROUPS
from musclemap.viz.registry import web_files
from musclemap.web.explain import explain_router
from musclemap.web.jobs import (
    POSE_FILE,
    Job,
    JobManager,
    PredictFn,
    PredictorJob,
    QueueFull,
    RenderFn,
    StoreUnavailable,
)
from musclemap.web.jobs import render_artifacts as default_render
from musclemap.web.schemas import (
    ErrorMessage,
    Health,
    JobCreated,
    JobStatus,
    MuscleGroupInfo,
    PredictResult,
    Progress,
)
from musclemap.web.store import check_data_dir, default_data_dir
from musclemap.web.uploads import UploadRejected, receive_upload

STATIC_DIR = Path(str(files("musclemap.web") / "static"))
FPS_RANGE = (0.5, 30.0)
# Only the page's own files run; inline styles are allowed because the body-map SVG carries them.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; media-src 'self' blob:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")
TOKEN_COOKIE = "musclemap_token"
MIN_TOKEN_CHARS = 16
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
_PICTURES = web_files()  # file name -> media type, from musclemap.viz.registry


@dataclass(frozen=True)
class ServerSettings:
    """Limits and model choice of one server.

    Attributes:
        max_upload_mb: Largest accepted upload in MiB (answered with 413 beyond it).
        workers: Worker processes running predictions.
        queue_size: Jobs that may wait for a worker (beyond them: 429).
        default_fps: Sampling rate when the client sends no `fps`; None: the model's own.
        checkpoint: Model checkpoint; None uses the packaged default model.
        device: Torch device for inference.
        data_dir: Jobs, results and uploads (None: `musclemap.web.store.default_data_dir()`).
        keep_finished: Finished jobs remembered for queries (across restarts).
        host: The address the server binds; names the Host header may carry besides loopback
            (for 0.0.0.0 or ::, this machine's host name).
        allowed_hosts: More accepted Host names (a reverse proxy's); "*" turns the check off.
        allowed_origins: More origins (scheme://host:port) allowed to POST from a browser.
        token: When set, every request but the static files needs it (a Bearer header, the
            cookie set by opening `/?token=...`, or `?token=`).
    """

    max_upload_mb: float = 200.0
    workers: int = 1
    queue_size: int = 8
    default_fps: float | None = None
    checkpoint: Path | None = None
    device: str = "cpu"
    data_dir: Path | None = None
    keep_finished: int = 100
    host: str = "127.0.0.1"
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    token: str | None = None

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 2**20)


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps the server reachable from this computer only."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The name in a Host header or origin netloc, without port: "[::1]:80" -> "::1"."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    if header.count(":") == 1:
        header = header.rsplit(":", 1)[0]
    return header.rstrip(".")


def allowed_host_names(settings: ServerSettings) -> frozenset[str]:
    """Names the Host header may carry: loopback, the bound address and `allowed_hosts`."""
    names = {*LOOPBACK_NAMES, *(host_name(h) for h in settings.allowed_hosts)}
    if settings.host in WILDCARD_HOSTS:  # reachable by this machine's names
        names |= {socket.gethostname().lower(), socket.getfqdn().lower()}
    else:
        names.add(host_name(settings.host))
    return frozenset(names)


def _origin(url: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) of an origin, the port filled in; None when it is not a URL."""
    try:
        parts = urlsplit(url.strip().lower())
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return None
    return (parts.scheme, parts.hostname or "", port) if parts.hostname else None


def _refuse(status: int, detail: str, **headers: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers or None)


def guard(
    settings: ServerSettings,
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    """HTTP middleware: Host allow-list (DNS rebinding), same-origin POSTs, the optional token.

    A browser page of another site can send a multipart POST to a local server without asking
    (it is a "simple" request); the browser always names that page in `Origin`. DNS rebinding
    makes another site's name point at 127.0.0.1, so its requests carry a foreign `Host`.
    """
    any_host = "*" in settings.allowed_hosts
    names = allowed_host_names(settings)
    origins = {o.rstrip("/").lower() for o in settings.allowed_origins}
    token = settings.token.encode() if settings.token else None

    def token_of(request: Request) -> str | None:
        auth = request.headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            return auth[7:].strip()
        return request.query_params.get("token") or request.cookies.get(TOKEN_COOKIE)

    async def check(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        host = request.headers.get("host", "")
        if not any_host and host_name(host) not in names:
            return _refuse(400, f"Host {host[:60]!r} is not allowed (see --allow-host)")
        origin = request.headers.get("origin")
        if request.method not in SAFE_METHODS:
            if origin is not None:
                own = _origin(f"{request.url.scheme}://{host}")
                same = own is not None and _origin(origin) == own
                if not same and origin.rstrip("/").lower() not in origins:
                    return _refuse(403, f"cross-origin request from {origin[:60]!r} refused")
            elif request.headers.get("sec-fetch-site", "") in ("cross-site", "same-site"):
                return _refuse(403, "cross-origin request refused")
        if token is not None and not request.url.path.startswith("/static/"):
            given = token_of(request)
            if given is None or not hmac.compare_digest(given.encode(), token):
                return _refuse(
                    401,
                    "this server needs its token: open the address `musclemap serve` printed, "
                    "or send 'Authorization: Bearer <token>'",
                    **{"WWW-Authenticate": "Bearer"},
                )
            response = await call_next(request)
            if request.query_params.get("token"):  # the page's later requests carry the cookie
                response.set_cookie(
                    TOKEN_COOKIE, settings.token or "", httponly=True, samesite="strict"
                )
            return response
        return await call_next(request)

    return check


class HeadAsGet:
    """ASGI middleware: HEAD answered as GET, without the body. FastAPI's routes answered
    every HEAD with 405 (`curl -I`, uptime checks: "the server is broken"), though a server
    that answers GET answers HEAD (RFC 9110). The headers, Content-Length included, and the
    status are those of the GET."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Any) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        # A copy: the server keeps its own scope saying HEAD (uvicorn then sends no body).
        await self.app({**scope, "method": "GET"}, receive, headers_only)


def _errors(*codes: int) -> dict[int | str, dict]:
    return {code: {"model": ErrorMessage} for code in codes}


def _job_status(job: Job, pose_file: Path | None = None) -> JobStatus:
    links = {}
    if job.status == "done":
        base = f"/api/jobs/{job.id}"
        links = {name: f"{base}/{name}" for name in (*_PICTURES, "result.json")}
        if pose_file is not None and pose_file.is_file():
            links["explain.png"] = f"{base}/explain.png"  # needs ?group=<group id>
    return JobStatus(
        job_id=job.id,
        status=job.status,
        filename=job.filename,
        progress=Progress(fraction=job.progress, stage=job.stage),
        error=job.error,
        result=PredictResult.model_validate(job.result) if job.result else None,
        links=links,
    )


FORM_FIELDS = ("fps", "exercise", "rotate")  # besides `file`: what `submit` reads


def _parse_fps(raw: str | None, default: float | None) -> float | None:
    if raw is None or raw == "":
        return default
    try:
        fps = float(raw)
    except ValueError:
        raise UploadRejected(422, f"fps must be a number, got {raw[:20]!r}") from None
    if not (math.isfinite(fps) and FPS_RANGE[0] <= fps <= FPS_RANGE[1]):
        raise UploadRejected(422, f"fps must be between {FPS_RANGE[0]:g} and {FPS_RANGE[1]:g}")
    return fps


def _parse_exercise(raw: str | None) -> str | None:
    """The optional `exercise` field, checked against the knowledge base (422 with the closest
    names when unknown)."""
    if raw is None or not raw.strip():
        return None
    if len(raw) > 100:
        raise UploadRejected(422, "exercise must be a name of at most 100 characters")
    from musclemap.analysis import resolve_exercise
    from musclemap.errors import UnknownActivityError

    try:
        resolve_exercise(raw)
    except UnknownActivityError as err:
        raise UploadRejected(422, str(err)) from None
    return raw.strip()


def _parse_rotate(raw: str | None) -> int | None:
    """The optional `rotate` field: degrees clockwise that make the picture upright (0, 90, 180,
    270), or None (`auto` or empty: the orientation check decides)."""
    raw = raw or ""
    value = raw.strip().lower() or "auto"
    if value not in ROTATE_CHOICES:
        raise UploadRejected(
            422, f"rotate must be auto, 0, 90, 180 or 270 (degrees clockwise), got {raw[:20]!r}"
        )
    return rotation_of(value)


_UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "The video (MP4/MOV, WebM/MKV, AVI, MPEG).",
                    },
                    "fps": {
                        "type": "number",
                        "minimum": FPS_RANGE[0],
                        "maximum": FPS_RANGE[1],
                        "description": "Frames per second sampled for pose estimation.",
                    },
                    "exercise": {
                        "type": "string",
                        "maxLength": 100,
                        "description": "The exercise done (a knowledge-base name, e.g. 'back "
                        "squat'); default: the model's guess. See docs/exercise.md.",
                    },
                    "rotate": {
                        "type": "string",
                        "enum": list(ROTATE_CHOICES),
                        "default": "auto",
                        "description": "Degrees clockwise that make the picture upright (a video "
                        "filmed sideways or upside down in its pixels), as `predict --rotate`: 0 "
                        "scores it as filmed; auto (or empty): the orientation check decides. "
                        "Anything else is 422.",
                    },
                },
            }
        }
    },
}


def create_app(
    settings: ServerSettings | None = None,
    *,
    predict_fn: PredictFn | None = None,
    render_fn: RenderFn | None = None,
) -> FastAPI:
    """Build the FastAPI app.

    Args:
        settings: Limits and model choice (defaults: `ServerSettings()`).
        predict_fn: Picklable function run in the workers; default: `PredictorJob` over the
            settings' checkpoint (tests inject a small deterministic one). Its `predictor()`
            method, when it has one, gives the model the explain endpoint scores (in the server
            process, loaded at the first explain request); without it jobs are not explained.
        render_fn: Picklable picture renderer run in the workers; default: `musclemap.viz`.

    Returns:
        The app; its lifespan opens the data directory (failing the jobs a previous server
        left unfinished), starts the workers, and on shutdown stops them and deletes every upload.
    """
    settings = settings or ServerSettings()
    checkpoint = str(settings.checkpoint) if settings.checkpoint else None
    predict = predict_fn or PredictorJob(checkpoint=checkpoint, device=settings.device)
    render = render_fn or default_render

    data_dir = settings.data_dir or default_data_dir()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.jobs = JobManager(
            data_dir,
            predict_fn=predict,
            render_fn=render,
            workers=settings.workers,
            queue_size=settings.queue_size,
            keep_finished=settings.keep_finished,
        )
        try:
            yield
        finally:
            app.state.jobs.shutdown()

    app = FastAPI(
        title="MuscleMap",
        version=__version__,
        description="Upload an exercise video; get which of 20 muscle groups work, how and when.",
        lifespan=lifespan,
        # The interactive docs pages load their scripts from a CDN; the server works offline, so it
        # serves only the schema (/openapi.json).
        docs_url=None,
        redoc_url=None,
    )

    app.middleware("http")(guard(settings))

    @app.middleware("http")  # added last, so it wraps the guard's refusals too
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    app.add_middleware(HeadAsGet)  # outermost: the guard and the routes see a GET

    def jobs_of(request: Request) -> JobManager:
        return request.app.state.jobs

    def find_job(request: Request, job_id: str) -> Job:
        job = jobs_of(request).get(job_id[:64])
        if job is None:
            raise HTTPException(404, f"no job {job_id[:40]!r}")
        return job

    def finished_job(request: Request, job_id: str) -> Job:
        job = find_job(request, job_id)
        if job.status != "done":
            raise HTTPException(409, f"job {job_id} is {job.status}, not done")
        return job

    explainer = getattr(predict, "predictor", None)

    def pose_file(job: Job) -> Path | None:
        """The finished job's stored poses when this server can explain them."""
        return app.state.jobs.artifact(job, POSE_FILE) if explainer is not None else None

    def pose_file_of(job_id: str) -> Path | None:
        job = app.state.jobs.get(job_id[:64])
        if job is None:
            raise HTTPException(404, f"no job {job_id[:40]!r}")
        if job.status != "done":
            raise HTTPException(409, f"job {job_id[:40]} is {job.status}, not done")
        return pose_file(job)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    @app.get("/api/health", response_model=Health, tags=["service"])
    def health(request: Request) -> Health:
        """Liveness, limits and job counts."""
        return Health(
            status="ok",
            version=__version__,
            max_upload_mb=settings.max_upload_mb,
            workers=settings.workers,
            queue_size=settings.queue_size,
            jobs=dict(jobs_of(request).counts()),
        )

    @app.get("/api/groups", response_model=list[MuscleGroupInfo], tags=["service"])
    def groups() -> list[MuscleGroupInfo]:
        """The 20 muscle groups (id, readable name, body-map region, muscles)."""
        return [
            MuscleGroupInfo(id=g.id, name=g.name, region=g.region, muscles=list(g.muscles))
            for g in MUSCLE_GROUPS
        ]

    @app.post(
        "/api/predict",
        status_code=202,
        response_model=JobCreated,
        tags=["jobs"],
        openapi_extra={"requestBody": _UPLOAD_BODY},
        responses=_errors(400, 401, 403, 413, 415, 422, 429, 503, 507),
    )
    async def submit(request: Request) -> JobCreated | JSONResponse:
        """Upload a video (multipart field `file`, optional `fps`, `exercise` and `rotate`) and
        start a prediction job."""
        jobs = jobs_of(request)
        try:
            jobs.check_capacity()
            claimed = request.headers.get("content-length", "")
            # A quick refusal for honest clients; the streamed count below is the real guard.
            if claimed.isdigit() and int(claimed) > settings.max_upload_bytes + 2**20:
                raise UploadRejected(
                    413, f"the file is larger than the limit of {settings.max_upload_mb:g} MB"
                )
            upload = await receive_upload(
                request.stream(),
                request.headers.get("content-type", ""),
                jobs.upload_dir,
                max_bytes=settings.max_upload_bytes,
                fields=FORM_FIELDS,
            )
        except QueueFull as err:
            return JSONResponse(
                {"detail": str(err)}, status_code=429, headers={"Retry-After": "10"}
            )
        except UploadRejected as err:
            return JSONResponse({"detail": err.message}, status_code=err.status)
        except ClientDisconnect:
            return JSONResponse({"detail": "upload interrupted"}, status_code=400)
        try:
            fps = _parse_fps(upload.fields.get("fps"), settings.default_fps)
            exercise = _parse_exercise(upload.fields.get("exercise"))
            rotate = _parse_rotate(upload.fields.get("rotate"))
            job = jobs.submit(
                upload.path, filename=upload.filename, fps=fps, exercise=exercise, rotate=rotate
            )
        except UploadRejected as err:
            upload.path.unlink(missing_ok=True)
            return JSONResponse({"detail": err.message}, status_code=err.status)
        except QueueFull as err:
            return JSONResponse(
                {"detail": str(err)}, status_code=429, headers={"Retry-After": "10"}
            )
        except StoreUnavailable as err:
            return JSONResponse({"detail": str(err)}, status_code=503)
        return JobCreated(job_id=job.id, status_url=f"/api/jobs/{job.id}")

    @app.get("/api/jobs/{job_id}", response_model=JobStatus, tags=["jobs"], responses=_errors(404))
    def job_status(request: Request, job_id: str) -> JobStatus:
        """Status, progress, error (when failed) and result (when done) of a job."""
        job = find_job(request, job_id)
        return _job_status(job, pose_file(job) if job.status == "done" else None)

    @app.get("/api/jobs/{job_id}/result.json", tags=["jobs"], responses=_errors(404, 409))
    def job_result(request: Request, job_id: str) -> JSONResponse:
        """The predict JSON as a download."""
        job = finished_job(request, job_id)
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(job.filename).stem)[:60] or "video"
        return JSONResponse(
            job.result,
            headers={"Content-Disposition": f'attachment; filename="{stem}.musclemap.json"'},
        )

    def picture(name: str):  # type: ignore[no-untyped-def]
        def serve(request: Request, job_id: str) -> Response:
            job = finished_job(request, job_id)
            path = jobs_of(request).artifact(job, name)
            if not path.is_file():
                raise HTTPException(404, f"job {job_id} has no {name}")
            return FileResponse(path, media_type=_PICTURES[name])

        serve.__name__ = f"job_{name.replace('-', '_').replace('.', '_')}"
        serve.__doc__ = f"The job's {name} (after it is done)."
        return serve

    for name, media in _PICTURES.items():
        app.add_api_route(
            f"/api/jobs/{{job_id}}/{name}",
            picture(name),
            methods=["GET"],
            tags=["jobs"],
            response_class=Response,
            responses={200: {"content": {media: {}}}, **_errors(404, 409)},
        )

    if explainer is not None:
        app.include_router(explain_router(pose_file_of, explainer))
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0: any free one); ConfigError when impossible."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as err:
        raise ConfigError(f"cannot listen on {host}:{port}: {err}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as err:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {err.strerror}") from None
    return sock


# What `--allow-host` takes: a name or IPv4 address, an IPv6 one (bare or bracketed), each
# with an optional port.
_HOST_NAME = re.compile(r"[a-z0-9_.-]+(:[0-9]+)?|\[[0-9a-f:.]+\](:[0-9]+)?|[0-9a-f:.]+")


def check_origins_and_hosts(settings: ServerSettings) -> None:
    """ConfigError for an allowed origin that is not `http(s)://host[:port]` (a browser sends
    exactly that in `Origin`, so `app.example` or `*` would never match: a silent no-op) and
    for an empty allowed host name."""
    for origin in settings.allowed_origins:
        parts = _origin(origin)
        bare = parts is not None and urlsplit(origin).path in ("", "/")
        if parts is None or parts[0] not in ("http", "https") or not bare:
            raise ConfigError(
                f"--allow-origin {origin!r}: expected scheme://host[:port] as a browser sends it, "
                "e.g. https://app.example"
            )
    if any(not name.strip() for name in settings.allowed_hosts):
        raise ConfigError("--allow-host: an empty host name")
    for name in settings.allowed_hosts:
        # A URL (`http://app.example` was read as the host "http") or a pattern (`*.example`,
        # taken literally) never matches a Host header: every request refused, no word said.
        if name != "*" and not _HOST_NAME.fullmatch(name.strip().lower()):
            raise ConfigError(
                f"--allow-host {name!r}: expected a host name or address as a Host header "
                "carries it (app.example, app.example:8080, 10.0.0.5, [::1]:80), or '*' for any"
            )


def run_server(
    settings: ServerSettings,
    port: int,
    *,
    predict_fn: PredictFn | None = None,
    render_fn: RenderFn | None = None,
    log_level: str = "info",
) -> None:
    """Check the settings, listen on `settings.host:port`, print the address, serve until stopped.

    The printed line carries the real port (also for port 0) and, with a token, `?token=`.

    Raises:
        ConfigError: A public address without a token, an unusable data directory, or a port
            that cannot be bound.
    """
    import uvicorn

    if not is_loopback(settings.host) and not settings.token:
        raise ConfigError(
            f"--host {settings.host} exposes the server to the network: set a token with "
            "--token or MUSCLEMAP_TOKEN (or keep the default --host 127.0.0.1)"
        )
    if settings.token is not None and len(settings.token) < MIN_TOKEN_CHARS:
        raise ConfigError(f"the token must have at least {MIN_TOKEN_CHARS} characters")
    if settings.token is not None and not re.fullmatch(r"[A-Za-z0-9._~+/=-]+", settings.token):
        # HTTP drops spaces around a header's value: a token of spaces (or ending in one) could
        # never be sent, and every request was refused; ';' or ',' break the cookie.
        raise ConfigError(
            "the token may hold only letters, digits and . _ ~ + / = - (it travels in a "
            "header, a cookie and the URL); e.g. python -c 'import secrets; "
            "print(secrets.token_urlsafe())'"
        )
    if not (math.isfinite(settings.max_upload_mb) and settings.max_upload_mb > 0):
        # inf started a server whose first upload failed converting the limit to bytes.
        raise ConfigError(
            f"--max-upload-mb must be a positive number, got {settings.max_upload_mb:g}"
        )
    check_origins_and_hosts(settings)
    if settings.checkpoint is not None and predict_fn is None:
        from musclemap.inference import load_model

        # A damaged or foreign file: one line now, not a server whose every job fails.
        load_model(settings.checkpoint)
    if settings.device != "cpu":
        print(
            f"warning: --device {settings.device} is ignored: the models run on the CPU",
            file=sys.stderr,
        )
    check_data_dir(settings.data_dir or default_data_dir())
    sock = bind(settings.host, port)
    bound = sock.getsockname()[1]
    shown = "localhost" if settings.host in ("127.0.0.1", "localhost") else settings.host
    if ":" in shown:
        shown = f"[{shown}]"
    # Quoted: a token holding '&', '#' or '+' made a link that carried another token.
    query = f"/?token={urllib.parse.quote(settings.token, safe='')}" if settings.token else ""
    print(f"MuscleMap on http://{shown}:{bound}{query} (Ctrl+C to stop)", flush=True)
    app = create_app(settings, predict_fn=predict_fn, render_fn=render_fn)
    # One server process: it owns the job queue; inference runs in its worker processes.
    server = uvicorn.Server(uvicorn.Config(app, log_level=log_level))
    # uvicorn re-raises the Ctrl+C it handled once the app has shut down: a normal stop.
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])
