"""Start the app safely: logins, the share-link rule, upload limit, served folders, the queue.

- ``--share`` makes a public gradio.live link: anyone who has it could use the GPU and read the
  outputs, so it needs a login (``--auth`` / ``--auth-file``) unless ``--share-without-auth``.
- Without internet the share link cannot be made; gradio then serves locally only, and we say
  so plainly (gradio's own note talks about antivirus software).
- Only the outputs folder is served as files (``allowed_paths``); project images and exports are
  handed to gradio one file at a time, so no URL reaches a ``project.sqlite`` or anything else.
- With ``--listen`` / ``--share`` the model and memory mode are fixed by the command line (the
  Settings tab shows them read-only); projects are names in the data folder; imports are
  uploads or folders allowed with ``--import-root``.
- GPU events run one at a time; the queue holds at most ``max_queue`` waiting events and tells
  anyone beyond that the app is busy. A request body larger than ``max_request_kb`` (a 20 MB
  prompt, say) is refused by :class:`RequestSizeLimit` before it is parsed or queued; file
  uploads have their own limit (``max_upload_mb``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sdaug.settings import Settings

logger = logging.getLogger(__name__)

SHARE_REFUSED = (
    "--share makes a public link: anyone who gets it could run models on this computer's GPU and "
    "read every image in the outputs folder. Add a login with --auth USER:PASS (or --auth-file FILE), "
    "or pass --share-without-auth if you really want an open link."
)
SHARE_FAILED = (
    "The public share link could not be created (no internet connection, or gradio.live is unreachable). "
    "The app keeps running on this computer at {url}; to reach it from other computers on your network, "
    "start it with --listen."
)


@dataclass
class LaunchOptions:
    """How to serve the app (the ``sdaug ui`` options that are not Settings)."""

    port: int = 7860
    listen: bool = False
    share: bool = False
    share_without_auth: bool = False
    auth: list[tuple[str, str]] = field(default_factory=list)
    max_upload_mb: int = 200
    max_queue: int = 16
    max_request_kb: int = 1024
    host: str | None = None            # the address to listen on with --listen (default all: 0.0.0.0)
    import_roots: list[str] = field(default_factory=list)

    @property
    def local(self) -> bool:
        """Whether only this computer can reach the app (no --listen, no --share)."""
        return not (self.listen or self.share)

    def validate(self) -> None:
        if not 1 <= self.port <= 65535:
            raise ValueError(f"--port must be from 1 to 65535, got {self.port}")
        if self.max_upload_mb < 1:
            raise ValueError(f"--max-upload-mb must be at least 1, got {self.max_upload_mb}")
        if self.max_queue < 1:
            raise ValueError(f"--max-queue must be at least 1, got {self.max_queue}")
        if self.max_request_kb < 16:
            raise ValueError(f"--max-request-kb must be at least 16, got {self.max_request_kb}")
        if self.host and not self.listen:
            raise ValueError("--host only makes sense with --listen (without it the app listens on 127.0.0.1)")
        if self.share and not self.auth and not self.share_without_auth:
            raise ValueError(SHARE_REFUSED)


def parse_auth(values: list[str], where: str = "--auth") -> list[tuple[str, str]]:
    """``["user:pass", ...]`` -> ``[("user", "pass"), ...]``; a bad entry is a ``ValueError``."""
    logins = []
    for value in values:
        user, sep, password = value.partition(":")
        if not sep or not user.strip() or not password:
            raise ValueError(f"{where} must be USER:PASSWORD (a user name, a colon, a password), got {value!r}")
        logins.append((user.strip(), password))
    return logins


def read_auth_file(path: str | Path) -> list[tuple[str, str]]:
    """Logins from a file with one ``USER:PASSWORD`` per line (blank lines and ``#`` comments skipped)."""
    path = Path(path).expanduser()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ValueError(f"cannot read the --auth-file {path}: {exc.strerror or exc}") from exc
    logins = []
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if line and not line.startswith("#"):
            logins += parse_auth([line], where=f"{path} line {number}")
    if not logins:
        raise ValueError(f"the --auth-file {path} holds no USER:PASSWORD line")
    return logins


REQUEST_TOO_LARGE = {
    "en": "The request is too large ({size} KB; this server accepts at most {limit} KB, set by --max-request-kb). "
          "Shorten the prompt or text and try again.",
    "zh": "请求过大（{size} KB；本服务器最多接受 {limit} KB，由 --max-request-kb 设置）。请缩短提示词或文本后重试。",
}


def _cookie_lang(cookie: str) -> str:
    """``"zh"`` when the page's language cookie says so, else ``"en"``."""
    from sdaug.ui.i18n import COOKIE, normalize_lang

    for part in cookie.split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return normalize_lang(value.replace("%2D", "-")) or "en"
    return "en"


class RequestSizeLimit:
    """Refuse (HTTP 413, at once) a POST to the app's API whose body is over ``max_bytes``, before
    gradio parses or queues it. Uploads (``/upload``) are limited by gradio's ``max_file_size``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if scope["type"] != "http" or scope.get("method") != "POST" or path.endswith("/upload"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        lang = _cookie_lang(headers.get(b"cookie", b"").decode("latin-1"))
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._refuse(send, int(length), lang)
            return
        # No length given (chunked): read the body up to the limit, then hand it on.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await self._refuse(send, size, lang)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send, size: int, lang: str) -> None:
        text = REQUEST_TOO_LARGE[lang].format(size=f"{size / 1024:.0f}", limit=self.max_bytes // 1024)
        body = json.dumps({"detail": text, "error": text}, ensure_ascii=False).encode("utf-8")
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json; charset=utf-8"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def project_folder(settings: Settings, project: str | Path) -> Path:
    """The folder of ``--project``: a project NAME in the data folder (created when missing);
    a path is accepted only when it lies in the projects folder."""
    from sdaug.dataset.projects import ProjectRegistry

    registry = ProjectRegistry(settings.projects_dir)
    text = str(project).strip()
    if "/" in text or "\\" in text or text.startswith("~"):
        name = registry.name_of(Path(text).expanduser())
    else:
        name = text
    folder = registry.folder(name)
    if not registry.exists(name):
        if folder.exists():
            raise ValueError(f"--project {name}: {folder} exists but is not a project; choose another name")
        registry.create(name)
    return folder


def launch(settings: Settings, options: LaunchOptions, *, model: str = "", project: str | Path | None = None,
           lang: str | None = None, block: bool = True) -> object:
    """Build the app and serve it; returns the ``gr.Blocks`` (useful with ``block=False``)."""
    # 1. Check everything that can be wrong before starting a server.
    options.validate()
    settings.ensure_dirs()
    folder = project_folder(settings, project) if project else None
    from sdaug.dataset.uploads import ImportRoots
    from sdaug.engine.sources import resolve_model

    roots = ImportRoots.of(options.import_roots)
    resolve_model(model, settings)

    # 2. Build the page (no torch import here).
    from starlette.middleware import Middleware

    from sdaug.ui.app import build_app, page_options
    from sdaug.ui.context import AppContext

    ctx = AppContext(settings=settings, project=folder, model=model, forced_lang=lang, max_queue=options.max_queue,
                     local=options.local, import_roots=roots)
    demo = build_app(ctx)
    demo.queue(max_size=options.max_queue, default_concurrency_limit=1)

    # 3. Serve.
    page = page_options(ctx)
    page["app_kwargs"]["middleware"].insert(
        0, Middleware(RequestSizeLimit, max_bytes=options.max_request_kb * 1024))
    demo.launch(
        server_name=(options.host or "0.0.0.0") if options.listen else "127.0.0.1",
        server_port=options.port,
        share=options.share,
        auth=options.auth or None,
        auth_message="sdaug — log in / 请登录",
        max_file_size=f"{options.max_upload_mb}mb",
        allowed_paths=ctx.allowed_paths(),
        prevent_thread_lock=True,
        footer_links=["api"],
        **page,
    )
    if options.share and not demo.share_url:
        logger.warning(SHARE_FAILED.format(url=demo.local_url))
    if block:
        demo.block_thread()
    return demo
