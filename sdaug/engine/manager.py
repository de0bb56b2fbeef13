"""PipelineManager: the one model cache, the one lock, the memory policy.

- One base (txt2img) pipeline per model source; img2img and ControlNet pipelines are derived
  from it with ``from_pipe`` and share every weight. The cache key is (source, dtype, device);
  derived pipelines are cached per (pipeline class, ControlNet). Asking for another model
  replaces the cached one.
- ControlNet models are cached by name (hub id, local folder or file, ``tiny``).
- LoRAs are loaded once into the base pipeline as peft adapters and switched per request with
  ``set_adapters``, with a weight per component (A1111's text encoder and UNet weights,
  ``<lora:NAME:TE:UNET>``); a request without LoRAs disables them, so the output is
  the plain model's again. When the UNet is compiled (``settings.compile`` on CUDA) LoRAs are
  baked into the weights instead (:func:`sdaug.engine.fastpath.bake_loras`: no recompiles).
- Device: CUDA > Apple MPS > CPU unless ``settings.device`` says otherwise; dtype float16 on
  CUDA, float32 elsewhere unless ``settings.dtype`` says otherwise.
- Memory policy, chosen once (:meth:`PipelineManager.memory_report` says which): memory mode
  ``auto`` is ``full`` with 8 GiB of GPU memory or more, ``model-offload`` from 4 GiB,
  ``sequential-offload`` below. ``full`` applies the CUDA fast path of
  :mod:`sdaug.engine.fastpath` (attention per ``settings.attention``: SDPA, or xformers when
  asked for and installed; channels-last, compile, VAE tiling per Settings);
  ``model-offload`` is its low-VRAM mode (model CPU offload, VAE tiling and slicing);
  ``sequential-offload`` moves each layer to the GPU as it runs (slowest, least memory).
  Apple MPS gets attention slicing; the CPU runs as is.
- The lock: :func:`sdaug.engine.run.run` holds ``manager.lock`` for a whole run. Code that
  calls :meth:`pipeline` or :meth:`unload` directly while runs may happen takes it too.

Pickled checkpoints are refused unless ``settings.allow_pickle`` (see :mod:`.sources`); hub
models are loaded with ``use_safetensors=True`` for the same reason.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import diffusers
import torch
from diffusers import (
    ControlNetModel,
    StableDiffusionControlNetImg2ImgPipeline,
    StableDiffusionControlNetPipeline,
    StableDiffusionImg2ImgPipeline,
    StableDiffusionPipeline,
)
from huggingface_hub import is_offline_mode
from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

from sdaug.engine import fastpath, sources, tiny
from sdaug.engine.encoding import A1111PromptEncoder, PromptEncoder
from sdaug.engine.errors import BadModelFileError, ModelNotFoundError, OutOfMemoryError, UnsafeCheckpointError
from sdaug.engine.sources import TINY, ModelSource
from sdaug.errors import InputError
from sdaug.prompts import model_hash
from sdaug.resources import package_path
from sdaug.settings import Settings

logger = logging.getLogger(__name__)

PIPELINE_MODES = ("txt2img", "img2img", "controlnet")
GIB = 1024**3
# Offline single-file loading: diffusers configs shipped with sdaug, by inferred model type.
CONFIGS_DIR = package_path("assets", "diffusers-configs")
_DOWNLOAD_ERRORS = (OSError, HfHubHTTPError, LocalEntryNotFoundError, ValueError)
# diffusers 0.42 renamed the pipelines' torch_dtype argument to dtype (the old name warns).
PIPE_DTYPE = "dtype" if tuple(int(p) for p in diffusers.__version__.split(".")[:2]) >= (0, 42) else "torch_dtype"

StatusCallback = Callable[[str], None]


class PipelineManager:
    """The model cache shared by every run (see the module docstring)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lock = threading.Lock()
        self.encoder: PromptEncoder = A1111PromptEncoder(settings)
        self.device = _pick_device(settings.device)
        self.dtype = _pick_dtype(settings.dtype, self.device)
        self.memory_mode = self._memory_mode()
        self._policy_notes: list[str] = []  # what the memory policy switched on, for the report
        self.source: ModelSource | None = None  # the loaded model
        self.load_seconds = 0.0
        self._base: StableDiffusionPipeline | None = None
        self._scheduler_config: dict[str, Any] = {}
        self._derived: dict[tuple[type, str], Any] = {}
        self._controlnets: dict[str, ControlNetModel] = {}
        self._adapters: dict[Path, str] = {}  # LoRA file -> peft adapter name
        self._active_loras: dict[Path, tuple[float, float]] = {}
        self._model_hash: str | None = None
        self._auxiliary: dict[tuple[str, ...], Any] = {}  # models beside the pipelines (CLIP check)

    # Pipelines -------------------------------------------------------------------------------
    def pipeline(self, mode: str, model: str, controlnet: str | None = None,
                 loras: Mapping[str | Path, float | tuple[float, float]] | None = None,
                 on_status: StatusCallback | None = None) -> Any:
        """The diffusers pipeline for ``mode`` on ``model`` with ``loras`` active.

        ``loras`` maps LoRA names (files in ``<home>/loras/``, as ``<lora:NAME:W>`` tags name
        them) or paths to a weight, or to a (text encoder weight, UNet weight) pair; without
        any, LoRAs are off.

        ``mode`` ``txt2img`` / ``img2img``; with ``controlnet`` (a ControlNet name) these become
        ControlNet txt2img / ControlNet img2img; ``controlnet`` mode is ControlNet txt2img and
        needs a ``controlnet``. ``on_status`` receives messages such as "loading model ...".
        """
        # 1. Check the arguments.
        if mode not in PIPELINE_MODES:
            raise ValueError(f"mode must be one of {', '.join(PIPELINE_MODES)}, got {mode!r}")
        if mode == "controlnet" and not controlnet:
            raise InputError("model.controlnet_needed")
        status = on_status or (lambda message: logger.info("%s", message))

        # 2. The base pipeline (loaded when the model changes).
        source = sources.resolve_model(model, self.settings)
        if source != self.source or self._base is None:
            self._load_base(source, status)
        base = self._base

        # 3. LoRAs on the shared UNet and text encoder.
        self._apply_loras({self._lora_path(key): _te_unet(w) for key, w in (loras or {}).items()}, status)

        # 4. The pipeline class for the mode, derived from the base with shared weights.
        if not controlnet:
            return base if mode == "txt2img" else self._derive(StableDiffusionImg2ImgPipeline, "")
        cls = StableDiffusionControlNetImg2ImgPipeline if mode == "img2img" else StableDiffusionControlNetPipeline
        try:
            return self._derive(cls, controlnet, status)
        except torch.OutOfMemoryError as error:
            self._controlnets.pop(controlnet, None)
            free_memory(self.device)
            raise OutOfMemoryError.for_loading(f"ControlNet {controlnet}", self.memory_mode) from error

    @property
    def scheduler_config(self) -> dict[str, Any]:
        """The loaded model's own scheduler config (schedulers are rebuilt from it per request)."""
        return dict(self._scheduler_config)

    @property
    def model_hash(self) -> str:
        """A1111 ``Model hash`` of the loaded single-file checkpoint ("" for other sources)."""
        if self._model_hash is None:
            single = self.source is not None and self.source.kind == "single_file"
            self._model_hash = model_hash(self.source.location) if single else ""
        return self._model_hash

    def unload(self) -> None:
        """Drop every cached pipeline, ControlNet and LoRA and free their memory."""
        self._base = None
        self.source = None
        self._model_hash = None
        self._derived.clear()
        self._controlnets.clear()
        self._adapters.clear()
        self._active_loras.clear()
        self._policy_notes = []
        free_memory(self.device)

    # Listing ---------------------------------------------------------------------------------
    def local_models(self) -> list[str]:
        """Names of the checkpoints in ``<home>/models/`` (usable as ``model``)."""
        return sources.local_models(self.settings)

    def local_loras(self) -> list[str]:
        """Names of the LoRA files in ``<home>/loras/`` (usable in ``<lora:NAME:W>``)."""
        return sources.local_loras(self.settings)

    def memory_report(self) -> str:
        """One line on the device, dtype and memory policy (and what is loaded)."""
        dtype = str(self.dtype).removeprefix("torch.")
        if self.device == "cuda":
            props = torch.cuda.get_device_properties(0)
            used = torch.cuda.memory_allocated(0) / GIB
            device = f"cuda ({props.name}, {props.total_memory / GIB:.0f} GiB, {used:.1f} GiB in use)"
        else:
            device = self.device
        parts = [f"device {device}", dtype, f"memory mode {self.memory_mode}", *self._policy_notes]
        loaded = self.source.name if self.source else "none"
        parts.append(f"model {loaded}")
        return ", ".join(parts)

    # Loading ---------------------------------------------------------------------------------
    def _load_base(self, source: ModelSource, status: StatusCallback) -> None:
        self.unload()
        status(f"loading model {source.name} …")
        start = time.perf_counter()
        try:
            if source.kind == TINY:
                pipe = tiny.tiny_pipeline()
                if self.dtype != torch.float32:
                    with quiet_dtype_casts():
                        pipe.to(dtype=self.dtype)
            elif source.kind == "single_file":
                pipe = self._load_single_file(source)
            else:
                pipe = self._from_pretrained(StableDiffusionPipeline, source, status, safety_checker=None,
                                             requires_safety_checker=False,
                                             **{PIPE_DTYPE: self.dtype})
            pipe = self._place(pipe)
        except torch.OutOfMemoryError as error:
            self.unload()
            raise OutOfMemoryError.for_loading(source.name, self.memory_mode) from error
        self._base, self.source = pipe, source
        if source.kind == "single_file":
            status(f"computing the A1111 model hash of {source.name} …")  # reads the whole file once
            self._model_hash = model_hash(source.location)
        self._scheduler_config = dict(pipe.scheduler.config)
        self.load_seconds = time.perf_counter() - start
        logger.info("loaded %s in %.1f s (%s)", source.name, self.load_seconds, self.memory_report())

    def _load_single_file(self, source: ModelSource) -> StableDiffusionPipeline:
        config = sources.single_file_config(Path(source.location), CONFIGS_DIR)
        try:
            return StableDiffusionPipeline.from_single_file(
                source.location, config=config, torch_dtype=self.dtype, local_files_only=config is not None,
                safety_checker=None, requires_safety_checker=False)
        except _DOWNLOAD_ERRORS as error:
            raise _single_file_error(source, error) from error
        except torch.OutOfMemoryError:
            raise
        except Exception as error:  # noqa: BLE001 - wrong shapes or a damaged file, whatever raises it
            raise _bad_file(source, error) from error

    def auxiliary(self, key: tuple[str, ...], build: Callable[[], Any]) -> Any:
        """A model used beside the pipelines (the CLIP box check), built once per ``key``."""
        with self.lock:
            if key not in self._auxiliary:
                self._auxiliary[key] = build()
            return self._auxiliary[key]

    def load_pretrained(self, cls: Any, source: ModelSource, status: StatusCallback | None = None,
                        **kwargs: Any) -> Any:
        """``cls.from_pretrained`` of a folder or hub id (cache first, then download unless
        offline); failures say how to get the model."""
        return self._from_pretrained(cls, source, status or (lambda message: None), **kwargs)

    def _from_pretrained(self, cls: Any, source: ModelSource, status: StatusCallback, **kwargs: Any) -> Any:
        """``cls.from_pretrained`` for a local folder or a hub id: from the cache first, then
        downloading unless offline; failures become messages that say how to get the model."""
        kwargs["use_safetensors"] = not self.settings.allow_pickle
        if source.kind == "folder":
            return _refuse_pickles(source, lambda: cls.from_pretrained(source.location, **kwargs))
        try:
            return _refuse_pickles(source, lambda: cls.from_pretrained(source.location, local_files_only=True,
                                                                        **kwargs))
        except UnsafeCheckpointError:
            raise
        except _DOWNLOAD_ERRORS as error:
            if is_offline_mode():
                raise ModelNotFoundError.for_hub(source.location, self.settings.models_dir,
                                                 "HF_HUB_OFFLINE is set") from error
        status(f"downloading {source.location} …")
        try:
            return _refuse_pickles(source, lambda: cls.from_pretrained(source.location, **kwargs))
        except UnsafeCheckpointError:
            raise
        except _DOWNLOAD_ERRORS as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise ModelNotFoundError.for_hub(source.location, self.settings.models_dir, reason) from error

    def _controlnet(self, name: str, status: StatusCallback) -> ControlNetModel:
        if name not in self._controlnets:
            source = sources.resolve_controlnet(name, self.settings)
            status(f"loading ControlNet {source.name} …")
            if source.kind == TINY:
                model = tiny.tiny_controlnet()
            elif source.kind == "single_file":
                config = sources.single_file_config(Path(source.location), CONFIGS_DIR, controlnet=True)
                try:
                    model = ControlNetModel.from_single_file(source.location, config=config, torch_dtype=self.dtype,
                                                             local_files_only=config is not None)
                except _DOWNLOAD_ERRORS as error:
                    raise _single_file_error(source, error) from error
            else:
                model = self._from_pretrained(ControlNetModel, source, status, torch_dtype=self.dtype)
            device = self.device if self.memory_mode == "full" else "cpu"  # offload hooks move it later
            with quiet_dtype_casts():
                self._controlnets[name] = model.to(device, self.dtype)
        return self._controlnets[name]

    def _derive(self, cls: Any, controlnet: str, status: StatusCallback | None = None) -> Any:
        key = (cls, controlnet)
        if key not in self._derived:
            extra = {"controlnet": self._controlnet(controlnet, status)} if controlnet else {}
            with quiet_dtype_casts():
                pipe = cls.from_pipe(self._base, **{PIPE_DTYPE: self.dtype}, **extra)
            self._derived[key] = self._place(pipe, derived=True)
        return self._derived[key]

    def _place(self, pipe: Any, derived: bool = False) -> Any:
        """Move ``pipe`` to the device and apply the memory policy (again for a pipeline derived
        with ``from_pipe``: offload hooks and a new ControlNet need it; the rest is kept)."""
        pipe.set_progress_bar_config(disable=True)
        if self.memory_mode == "model-offload":
            notes = fastpath.apply_low_vram(pipe, self.device)
        elif self.memory_mode == "sequential-offload":
            pipe.enable_sequential_cpu_offload(device=self.device)
            pipe.vae.enable_tiling()
            notes = ["sequential CPU offload", "VAE tiling"]
        else:
            if not derived:
                pipe.to(self.device)
            notes = []
            if self.device == "cuda":
                notes = fastpath.apply_fast_path(pipe, self.settings, self.device)
            elif self.device == "mps":
                pipe.enable_attention_slicing()
                notes = ["attention slicing (MPS)"]
        if not derived:
            self._policy_notes = [note for note in notes if not note.startswith("skipped")]
        return pipe

    # LoRAs -----------------------------------------------------------------------------------
    def _lora_path(self, key: str | Path) -> Path:
        return Path(key) if isinstance(key, Path) else sources.find_lora(key, self.settings)

    def _apply_loras(self, loras: dict[Path, tuple[float, float]], status: StatusCallback) -> None:
        if loras == self._active_loras:
            return
        base = self._base
        if self.settings.compile and self.device == "cuda":
            status("baking LoRAs into the weights …")
            fastpath.bake_loras(base, list(loras.items()))
        else:
            for path in loras:
                if path not in self._adapters:
                    status(f"loading LoRA {path.stem} …")
                    adapter = _adapter_name(path.stem, set(self._adapters.values()))
                    _load_lora(base, path, adapter)
                    self._adapters[path] = adapter
            if loras:
                base.enable_lora()
                base.set_adapters([self._adapters[p] for p in loras],
                                  adapter_weights=[fastpath.adapter_weight(w) for w in loras.values()])
            elif self._adapters:
                base.disable_lora()
        self._active_loras = dict(loras)

    # Memory policy ---------------------------------------------------------------------------
    def _memory_mode(self) -> str:
        """The memory mode, chosen once: ``auto`` becomes a mode by the GPU's memory."""
        if self.device != "cuda":
            return "full"  # offloading to the CPU only helps a GPU
        if self.settings.memory_mode != "auto":
            return self.settings.memory_mode
        total = torch.cuda.get_device_properties(0).total_memory / GIB
        return "full" if total >= 8 else "model-offload" if total >= 4 else "sequential-offload"


def _te_unet(weight: float | tuple[float, float]) -> tuple[float, float]:
    """A LoRA weight as (text encoder, UNet): one number is both."""
    if isinstance(weight, tuple):
        return float(weight[0]), float(weight[1])
    return float(weight), float(weight)


def _pick_device(wanted: str) -> str:
    if wanted != "auto":
        if wanted == "cuda" and not torch.cuda.is_available():
            raise InputError("device.no_cuda")
        if wanted == "mps" and not torch.backends.mps.is_available():
            raise InputError("device.no_mps")
        return wanted
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def _pick_dtype(wanted: str, device: str) -> torch.dtype:
    if wanted == "auto":
        return torch.float16 if device == "cuda" else torch.float32
    return getattr(torch, wanted)


def _adapter_name(name: str, taken: set[str]) -> str:
    """A peft adapter name (letters, digits, ``_``) for a LoRA file name, unique among ``taken``."""
    base = re.sub(r"\W", "_", name) or "lora"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}_{n}"
    return candidate


def _load_lora(base: Any, path: Path, adapter: str) -> None:
    """Load one LoRA file as ``adapter``; a file that is damaged or made for another model raises
    :class:`BadModelFileError` and leaves no half-loaded adapter behind."""
    if path.suffix.lower() == sources.SAFETENSORS:
        sources.read_safetensors_header(path)
    try:
        with warnings.catch_warnings():  # several adapters side by side are meant here
            warnings.filterwarnings("ignore", message="Already found a `peft_config`")
            base.load_lora_weights(str(path.parent), weight_name=path.name, adapter_name=adapter)
    except torch.OutOfMemoryError:
        raise
    except Exception as error:  # noqa: BLE001 - safetensors, peft and torch each raise their own kinds
        with contextlib.suppress(Exception):
            base.delete_adapters(adapter)
        raise BadModelFileError("model.lora_mismatch", where=path.stem, reason=_first_line(error)) from error


def _refuse_pickles(source: ModelSource, load: Callable[[], Any]) -> Any:
    """Run ``load``; a model that only has pickled weights becomes the pickle explanation."""
    try:
        return load()
    except OSError as error:
        if "safetensors" in str(error).lower() and "not found" not in str(error).lower():
            raise UnsafeCheckpointError.for_file(source.name, "only .bin pickled weights") from error
        raise


def _bad_file(source: ModelSource, error: Exception) -> BadModelFileError:
    return BadModelFileError("model.bad_file", where=Path(source.location).name, reason=_first_line(error))


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:200] if text else type(error).__name__


def _single_file_error(source: ModelSource, error: Exception) -> ModelNotFoundError:
    return ModelNotFoundError("model.single_file_failed", location=source.location, reason=str(error),
                              name=source.name)


@contextlib.contextmanager
def quiet_dtype_casts() -> Iterator[None]:
    """Silence diffusers' "modules that should be kept in float32: []" warning, which it logs for
    every dtype cast (``from_pipe`` casts too) even when there are no such modules."""
    modeling = logging.getLogger("diffusers.models.modeling_utils")
    level = modeling.level
    modeling.setLevel(logging.ERROR)
    try:
        yield
    finally:
        modeling.setLevel(level)


def free_memory(device: str) -> None:
    """Collect garbage and return the device's cached blocks (after unloading, or an out-of-memory)."""
    import gc

    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()
    elif device == "mps":
        torch.mps.empty_cache()
