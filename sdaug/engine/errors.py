"""Engine errors whose messages tell a non-programmer what to do.

All are ``ValueError`` subclasses, so the CLI prints them as ``sdaug: error: ...`` and the UI
shows them as ``gr.Error`` without special cases; callers that want to react (retry with a
smaller batch, offer a download) can catch the subclass.
"""

from __future__ import annotations

from sdaug.errors import InputError


class OutOfMemoryError(ValueError):
    """The GPU ran out of memory; the message says what to change."""

    @classmethod
    def for_batch(cls, batch_size: int, width: int, height: int, memory_mode: str) -> OutOfMemoryError:
        tips = []
        if batch_size > 1:
            tips.append(f"a smaller batch size (now {batch_size})")
        tips.append(f"a smaller image size (now {width}x{height})")
        if memory_mode in ("auto", "full"):
            tips.append("memory mode 'model-offload' (SDAUG_MEMORY_MODE=model-offload)")
        elif memory_mode == "model-offload":
            tips.append("memory mode 'sequential-offload' (slow, but needs the least memory)")
        return cls(f"The GPU ran out of memory making {batch_size} image(s) of {width}x{height}. "
                   f"Try {', or '.join(tips)}. Closing other programs that use the GPU also helps.")

    @classmethod
    def for_loading(cls, model: str, memory_mode: str) -> OutOfMemoryError:
        tip = ("use memory mode 'model-offload' (SDAUG_MEMORY_MODE=model-offload)"
               if memory_mode in ("auto", "full") else "use memory mode 'sequential-offload'")
        return cls(f"The GPU ran out of memory loading {model}. Close other programs that use the GPU, "
                   f"or {tip}.")


class ModelNotFoundError(InputError):
    """A model, ControlNet or LoRA could not be found locally nor downloaded (keys ``model.*`` of
    :data:`sdaug.errors.MESSAGES`)."""

    @classmethod
    def for_hub(cls, repo_id: str, models_dir: object, reason: str) -> ModelNotFoundError:
        return cls("model.offline", repo=repo_id, reason=reason, folder=models_dir)


class UnsafeCheckpointError(InputError):
    """A pickled checkpoint was refused because ``allow_pickle`` is off."""

    @classmethod
    def for_file(cls, name: str, what: str) -> UnsafeCheckpointError:
        return cls("model.pickle", name=name, what=what)


class BadModelFileError(InputError):
    """A checkpoint or LoRA file that cannot be loaded: damaged, cut short, another format
    renamed ``.safetensors``, or (a LoRA) made for another model. Keys ``model.bad_file`` and
    ``model.lora_mismatch`` of :data:`sdaug.errors.MESSAGES`."""
