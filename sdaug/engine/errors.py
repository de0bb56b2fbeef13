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


class ModelNotFoundError(ValueError):
    """A model, ControlNet or LoRA could not be found locally nor downloaded."""

    @classmethod
    def for_hub(cls, repo_id: str, models_dir: object, reason: str) -> ModelNotFoundError:
        return cls(
            f"Model {repo_id!r} is not in the local Hugging Face cache and could not be downloaded "
            f"({reason}). To get it, run `hf download {repo_id}` (older huggingface_hub: "
            f"`huggingface-cli download {repo_id}`) on a machine with internet access; set HF_ENDPOINT "
            f"to use a mirror (for example HF_ENDPOINT=https://hf-mirror.com). Or put a .safetensors "
            f"checkpoint into {models_dir} and choose it by its file name."
        )


class UnsafeCheckpointError(ValueError):
    """A pickled checkpoint was refused because ``allow_pickle`` is off."""

    @classmethod
    def for_file(cls, name: str, what: str) -> UnsafeCheckpointError:
        return cls(f"{name} is a pickled checkpoint ({what}): loading it can run any code hidden in the file. "
                   f"Use a .safetensors version of it, or, only if you trust where it came from, start sdaug "
                   f"with --allow-pickle (or SDAUG_ALLOW_PICKLE=1).")


class BadModelFileError(InputError):
    """A checkpoint or LoRA file that cannot be loaded: damaged, cut short, another format
    renamed ``.safetensors``, or (a LoRA) made for another model. Keys ``model.bad_file`` and
    ``model.lora_mismatch`` of :data:`sdaug.errors.MESSAGES`."""
