"""Start the app safely: logins, the share-link rule, upload limit, served folders, the queue.

- ``--share`` makes a public gradio.live link: anyone who has it could use the GPU and read the
  outputs, so it needs a login (``--auth`` / ``--auth-file``) unless ``--share-without-auth``.
- Without internet the share link cannot be made; gradio then serves locally only, and we say
  so plainly (gradio's own note talks about antivirus software).
- Only the outputs folder and the project folder are served as files (``allowed_paths``).
- GPU events run one at a time; the queue holds at most ``max_queue`` waiting events and tells
  anyone beyond that the app is busy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

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

    def validate(self) -> None:
        if not 1 <= self.port <= 65535:
            raise ValueError(f"--port must be from 1 to 65535, got {self.port}")
        if self.max_upload_mb < 1:
            raise ValueError(f"--max-upload-mb must be at least 1, got {self.max_upload_mb}")
        if self.max_queue < 1:
            raise ValueError(f"--max-queue must be at least 1, got {self.max_queue}")
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


def launch(settings: Settings, options: LaunchOptions, *, model: str = "", project: str | Path | None = None,
           lang: str | None = None, block: bool = True) -> object:
    """Build the app and serve it; returns the ``gr.Blocks`` (useful with ``block=False``)."""
    # 1. Check everything that can be wrong before starting a server.
    options.validate()
    if project is not None and Path(project).expanduser().is_file():
        raise ValueError(f"--project {project} is a file; a project is a folder (it is created when missing)")
    settings.ensure_dirs()
    from sdaug.engine.sources import resolve_model

    resolve_model(model, settings)

    # 2. Build the page (no torch import here).
    from sdaug.ui.app import build_app, page_options
    from sdaug.ui.context import AppContext

    ctx = AppContext(settings=settings, project=Path(project) if project else None, model=model,
                     forced_lang=lang, max_queue=options.max_queue)
    demo = build_app(ctx)
    demo.queue(max_size=options.max_queue, default_concurrency_limit=1)

    # 3. Serve.
    demo.launch(
        server_name="0.0.0.0" if options.listen else "127.0.0.1",
        server_port=options.port,
        share=options.share,
        auth=options.auth or None,
        auth_message="sdaug — log in / 请登录",
        max_file_size=f"{options.max_upload_mb}mb",
        allowed_paths=ctx.allowed_paths(),
        prevent_thread_lock=True,
        footer_links=["api", "settings"],
        **page_options(ctx),
    )
    if options.share and not demo.share_url:
        logger.warning(SHARE_FAILED.format(url=demo.local_url))
    if block:
        demo.block_thread()
    return demo
