"""``AppContext``: what every tab of the app shares.

Each tab module has ``build(ctx: AppContext) -> ...`` and is called inside its ``gr.Tab``. What a
tab may use:

- ``ctx.settings`` — :class:`~sdaug.settings.Settings` (folders, device, memory mode).
- ``ctx.project`` — the folder of the project named with ``--project`` (a :class:`~pathlib.Path`),
  or ``None``: what a browser opens when it has no project of its own yet.
- ``ctx.projects`` — the :class:`~sdaug.dataset.projects.ProjectRegistry` of the data folder;
  ``ctx.open_project(name)`` opens one by NAME. A browser never sends a path.
- ``ctx.import_roots`` — the server folders users may import from (``--import-root``).
- ``ctx.local`` — ``True`` when the app serves this computer only (no ``--listen`` / ``--share``):
  then, and only then, the Settings tab may change the server-wide settings (model, memory mode).
- ``ctx.model`` — the model the next generation uses (``--model``, or chosen in Settings).
- ``ctx.manager`` — the one :class:`~sdaug.engine.manager.PipelineManager`, created (and torch
  imported) on first use only, so the page starts fast. Use it only inside event handlers.
- ``ctx.gpu_event`` — keyword arguments for every event that runs a model
  (``concurrency_id`` shared by all of them, ``concurrency_limit=1``): one run at a time.
- ``ctx.label(key)`` — static text for a component (translated in the browser);
  ``ctx.lang(request)`` and ``ctx.tr(key, request_or_lang, **values)`` — text made in Python,
  in the language of the browser that sent the event (declare ``request: gr.Request``).
- ``ctx.add_translations({key: (english, chinese)})`` — register a tab's own strings; call it
  while building the tab (before launch).
- ``ctx.error(exc, request)`` — a translated ``gr.Error`` for a core ``ValueError``; or decorate a
  handler with ``@ctx.handle_errors``, which does that for every ``ValueError`` it raises.
- ``ctx.begin_run(session)`` / ``ctx.cancel_flag(session)`` / ``ctx.stop(session)`` /
  ``ctx.end_run(session)`` — the per-browser-session cancel flag that a Stop button sets and a
  long run checks (``session`` is ``request.session_hash``).
- ``ctx.allowed_paths()`` — the folders the server may serve files from (outputs only; project
  images are handed to gradio one file at a time, never ``project.sqlite``).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import gradio as gr
from gradio.i18n import I18nData

from sdaug.dataset.projects import ProjectRegistry
from sdaug.dataset.uploads import ImportRoots
from sdaug.errors import InputError, describe
from sdaug.settings import Settings
from sdaug.ui import i18n

if TYPE_CHECKING:
    from sdaug.dataset.store import Project
    from sdaug.engine.manager import PipelineManager

logger = logging.getLogger(__name__)

GPU_CONCURRENCY_ID = "gpu"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class AppContext:
    """Shared state of one running app (see the module docstring for how tabs use it)."""

    settings: Settings
    project: Path | None = None
    model: str = ""
    forced_lang: str | None = None
    concurrency_id: str = GPU_CONCURRENCY_ID
    max_queue: int = 16
    local: bool = True
    import_roots: ImportRoots = field(default_factory=ImportRoots)
    extra_translations: dict[str, tuple[str, str]] = field(default_factory=dict)
    _manager: PipelineManager | None = field(default=None, init=False, repr=False)
    _manager_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _cancel_events: dict[str, threading.Event] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.model = self.model or self.settings.default_model
        if self.project is not None:
            self.project = Path(self.project).expanduser().resolve()
        if self.forced_lang is not None and self.forced_lang not in i18n.LANGS:
            raise ValueError(f"lang must be one of {', '.join(i18n.LANGS)}, got {self.forced_lang!r}")

    # Projects ----------------------------------------------------------------------------------
    @property
    def projects(self) -> ProjectRegistry:
        """The projects of the data folder, by name."""
        return ProjectRegistry(self.settings.projects_dir)

    def open_project(self, name: str) -> Project:
        """The open project ``name`` of the data folder (``ValueError`` when there is none)."""
        return self.projects.open(name)

    # Engine ------------------------------------------------------------------------------------
    @property
    def manager(self) -> PipelineManager:
        """The pipeline manager, created on first use (this imports torch)."""
        with self._manager_lock:
            if self._manager is None:
                from sdaug.engine.manager import PipelineManager

                self._manager = PipelineManager(self.settings)
            return self._manager

    def reset_manager(self) -> None:
        """Unload every model and drop the manager; the next run makes a new one from
        ``settings`` (the memory policy is chosen when a manager is made)."""
        with self._manager_lock:
            manager, self._manager = self._manager, None
        if manager is not None:
            with manager.lock:
                manager.unload()

    @property
    def manager_loaded(self) -> bool:
        """Whether the manager exists already (torch imported)."""
        return self._manager is not None

    @property
    def gpu_event(self) -> dict[str, Any]:
        """Keyword arguments for an event listener that runs a model: one run at a time."""
        return {"concurrency_id": self.concurrency_id, "concurrency_limit": 1}

    @property
    def is_tiny(self) -> bool:
        return self.model == "tiny"

    # Stop ----------------------------------------------------------------------------------------
    def begin_run(self, session: str) -> threading.Event:
        """A fresh cancel flag for the next run of this browser session."""
        event = threading.Event()
        self._cancel_events[session] = event
        return event

    def cancel_flag(self, session: str) -> threading.Event:
        """The cancel flag of the session's run (set already if Stop came before it started)."""
        return self._cancel_events.setdefault(session, threading.Event())

    def end_run(self, session: str) -> None:
        self._cancel_events.pop(session, None)

    def stop(self, session: str) -> bool:
        """Ask the session's run to stop after the current step; ``False`` if none is running."""
        event = self._cancel_events.get(session)
        if event is None:
            return False
        event.set()
        return True

    # Languages -----------------------------------------------------------------------------------
    def lang(self, request: gr.Request | None) -> str:
        """``"en"`` or ``"zh"`` for the browser that sent ``request``."""
        return i18n.request_lang(request, default=self.forced_lang or self.settings.lang)

    def tr(self, key: str, lang_or_request: str | gr.Request | None, **values: object) -> str:
        """Translate ``key`` (a :data:`~sdaug.ui.i18n.STRINGS` key or one added by a tab)."""
        lang = lang_or_request if isinstance(lang_or_request, str) else self.lang(lang_or_request)
        if key in self.extra_translations:
            en, zh = self.extra_translations[key]
            text = zh if lang == "zh" else en
            return text.format(**values) if values else text
        return i18n.tr(key, lang, **values)

    def label(self, key: str) -> I18nData:
        """Static text for a component: translated by the browser."""
        if key in self.extra_translations:
            return I18nData(key)
        return i18n.label(key)

    def add_translations(self, table: Mapping[str, tuple[str, str]]) -> None:
        """Register ``{key: (english, chinese)}``; call while building a tab."""
        self.extra_translations.update(table)

    def build_i18n(self) -> gr.I18n:
        return i18n.build_i18n(self.extra_translations)

    # Errors --------------------------------------------------------------------------------------
    def error(self, exc: ValueError, lang_or_request: str | gr.Request | None) -> gr.Error:
        """A ``gr.Error`` with ``exc``'s message in the user's language."""
        lang = lang_or_request if isinstance(lang_or_request, str) else self.lang(lang_or_request)
        from sdaug.engine.errors import OutOfMemoryError

        key = getattr(exc, "translation_key", None)  # errors that name their message (ProjectError)
        if isinstance(exc, OutOfMemoryError):
            message = self.tr("error.oom", lang, message=str(exc))
        elif key in self.extra_translations:
            message = self.tr(key, lang, **getattr(exc, "values", {}))
        elif isinstance(exc, InputError) and lang != "en":  # the core's keyed refusals carry their Chinese
            message = describe(exc, lang)
        else:
            message = i18n.translate_error(str(exc), lang)
        return gr.Error(message, title=self.tr("error.title", lang), print_exception=False)

    def user_error(self, key: str, request: gr.Request | None, **values: object) -> gr.Error:
        """A translated ``gr.Error`` from a string key."""
        lang = self.lang(request)
        return gr.Error(self.tr(key, lang, **values), title=self.tr("error.title", lang), print_exception=False)

    def handle_errors(self, fn: F) -> F:
        """Decorate an event handler: every ``ValueError`` becomes a translated ``gr.Error``, and
        any other exception is logged with its traceback and shown as a short "something went
        wrong" message (the server keeps serving either way).

        The language comes from the handler's ``gr.Request`` argument, if it has one.
        """

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except gr.Error:
                raise
            except ValueError as exc:
                logger.info("refused: %s", exc)
                raise self.error(exc, _request_in(args, kwargs)) from exc
            except Exception as exc:
                logger.exception("%s failed", fn.__name__)
                lang = self.lang(_request_in(args, kwargs))
                raise gr.Error(self.tr("error.unexpected", lang, message=f"{type(exc).__name__}: {exc}"),
                               title=self.tr("error.title", lang), print_exception=False) from exc

        return wrapper  # type: ignore[return-value]

    # Files ---------------------------------------------------------------------------------------
    def allowed_paths(self) -> list[str]:
        """Folders the server may serve files from: the outputs folder only. Project images and
        exports are handed to gradio one file at a time (it copies them into its cache), so a
        project's ``project.sqlite`` can never be fetched by URL."""
        return [str(self.settings.outputs_dir)]


def _request_in(args: tuple[Any, ...], kwargs: dict[str, Any]) -> gr.Request | None:
    return next((a for a in (*args, *kwargs.values()) if isinstance(a, gr.Request)), None)
