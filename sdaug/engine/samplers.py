"""AUTOMATIC1111 sampler and schedule-type names mapped to diffusers schedulers.

Users type A1111's names (``DPM++ 2M``, ``Euler a``, ...) and schedule types (``Karras``, ...);
:func:`make_scheduler` builds a fresh diffusers scheduler for each request from the model's own
scheduler config, because diffusers schedulers keep state between steps.

Mapping notes (diffusers has no exact twin for every k-diffusion sampler):

- ``DPM++ 2M`` / ``DPM++ 2M SDE`` / ``DPM++ 3M SDE``: ``DPMSolverMultistepScheduler`` with
  ``algorithm_type`` ``dpmsolver++`` / ``sde-dpmsolver++`` and ``solver_order`` 2 / 2 / 3.
- ``DPM++ 2S a``: ``DPMSolverSinglestepScheduler`` (order 2, ``dpmsolver++``). diffusers has no
  ancestral single-step solver; this is the closest one and it adds no noise between steps.
- ``DPM++ SDE``: ``DPMSolverSDEScheduler``, which needs the ``torchsde`` package (a dependency
  of sdaug). Without it, asking for this sampler raises a ``ValueError`` that says how to install
  it; there is no silent fallback to a different sampler. Its Brownian noise is seeded with the
  image seeds, so a run repeats.
- ``UniPC`` uses A1111's defaults (variant ``bh1``, order 3); ``PLMS`` is ``PNDMScheduler`` with
  ``skip_prk_steps``; ``LCM`` is ``LCMScheduler`` (meant for LCM models and LoRAs).

Schedule types: ``Karras`` -> ``use_karras_sigmas``, ``Exponential`` -> ``use_exponential_sigmas``,
``SGM Uniform`` -> ``timestep_spacing="trailing"``, ``Uniform`` -> evenly spaced timesteps
(``timestep_spacing="linspace"``, like k-diffusion's default discretisation) and ``Automatic``
follows the spec: Karras for DPM++ 2M, DPM++ SDE, DPM++ 2S a, DPM2 and DPM2 a; Exponential for
DPM++ 2M SDE and DPM++ 3M SDE; for the rest A1111's own discretisation, whatever
``timestep_spacing`` / ``steps_offset`` the model folder's scheduler config holds (a folder saved
by a recent diffusers writes ``"leading"``, the SD1.5 repository none): evenly spaced timesteps
(k-diffusion's ``get_sigmas``, ``linspace``) for Euler, Euler a, LMS, Heun, UniPC and LCM, and
A1111's timestep samplers' ``range(0, 1000, 1000 // steps) + 1`` (``leading`` with offset 1) for
DDIM and PLMS. (A1111 runs UniPC on those timesteps too; diffusers' UniPC spaces ``leading``
differently, so it keeps the even spacing.) Karras and Exponential sigmas span the model's whole
noise range (``linspace``), as k-diffusion's do, whatever the folder says. A schedule type a
scheduler cannot do (``Euler a`` with ``Karras``, ``DDIM`` with ``Exponential``) is a
``ValueError`` naming the ones it can do (:func:`schedule_types_for`).

Old combined names (``DPM++ 2M Karras``, ``LMS Karras``, ``DPM++ 2M SDE Exponential``) are split
into sampler and schedule type with :func:`sdaug.prompts.split_sampler_name`.

``downcast_alphas_cumprod`` (A1111's ``Downcast alphas_cumprod`` compatibility flag, set by
infotexts of A1111 before v1.7.0-225) builds the schedule from the model's ``alphas_cumprod``
rounded to float16, given to the scheduler as ``trained_betas`` (its float32 product of
``1 - beta`` is the rounded values within 1e-6).
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sdaug.errors import InputError

SCHEDULE_TYPES = ("Automatic", "Uniform", "Karras", "Exponential", "SGM Uniform")


@dataclass(frozen=True)
class _Sampler:
    scheduler: str  # class name in diffusers
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    automatic: str = "Uniform"  # schedule used for "Automatic": "Uniform", "Timesteps", "Karras", "Exponential"
    calls_per_step: int = 1


_DPMPP = {"algorithm_type": "dpmsolver++", "solver_order": 2}
_DPMPP_SDE = {"algorithm_type": "sde-dpmsolver++", "solver_order": 2}

_SAMPLERS: dict[str, _Sampler] = {
    "DPM++ 2M": _Sampler("DPMSolverMultistepScheduler", _DPMPP, automatic="Karras"),
    "DPM++ SDE": _Sampler("DPMSolverSDEScheduler", automatic="Karras", calls_per_step=2),
    "DPM++ 2M SDE": _Sampler("DPMSolverMultistepScheduler", _DPMPP_SDE, automatic="Exponential"),
    "DPM++ 2S a": _Sampler("DPMSolverSinglestepScheduler", {**_DPMPP, "lower_order_final": True},
                           automatic="Karras", calls_per_step=2),
    "DPM++ 3M SDE": _Sampler("DPMSolverMultistepScheduler", {**_DPMPP_SDE, "solver_order": 3},
                             automatic="Exponential"),
    "Euler a": _Sampler("EulerAncestralDiscreteScheduler"),
    "Euler": _Sampler("EulerDiscreteScheduler"),
    "LMS": _Sampler("LMSDiscreteScheduler"),
    "Heun": _Sampler("HeunDiscreteScheduler", calls_per_step=2),
    "DPM2": _Sampler("KDPM2DiscreteScheduler", automatic="Karras", calls_per_step=2),
    "DPM2 a": _Sampler("KDPM2AncestralDiscreteScheduler", automatic="Karras", calls_per_step=2),
    "DDIM": _Sampler("DDIMScheduler", automatic="Timesteps"),
    "PLMS": _Sampler("PNDMScheduler", {"skip_prk_steps": True}, automatic="Timesteps"),
    "UniPC": _Sampler("UniPCMultistepScheduler", {"solver_type": "bh1", "solver_order": 3}),
    "LCM": _Sampler("LCMScheduler"),
}

SAMPLERS = tuple(_SAMPLERS)
_BY_LOWER = {name.lower(): name for name in (*SAMPLERS, *SCHEDULE_TYPES)}

# Scheduler config keys each schedule type sets; a scheduler must accept all of them.
_SCHEDULE_KEYS: dict[str, dict[str, Any]] = {
    "Uniform": {"timestep_spacing": "linspace"},
    "Karras": {"use_karras_sigmas": True},
    "Exponential": {"use_exponential_sigmas": True},
    "SGM Uniform": {"timestep_spacing": "trailing"},
}
# "Automatic" of A1111's timestep samplers (DDIM, PLMS): range(0, 1000, 1000 // steps) + 1.
_TIMESTEPS_KEYS = {"timestep_spacing": "leading", "steps_offset": 1}
_SIGMA_FLAGS = ("use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas")


def split_name(name: str, schedule_type: str = "Automatic") -> tuple[str, str]:
    """Return ``(sampler, schedule_type)`` for a display name or an old combined name.

    ``split_name("DPM++ 2M Karras")`` -> ``("DPM++ 2M", "Karras")``. A schedule type given in the
    name wins over ``schedule_type``. Case does not matter (``euler a`` is ``Euler a``). Unknown
    names raise ``ValueError`` listing the known ones.
    """
    from sdaug.prompts import split_sampler_name

    sampler, from_name = split_sampler_name(name)
    if from_name != "Automatic":
        schedule_type = from_name
    sampler = _BY_LOWER.get(sampler.lower(), sampler)
    schedule_type = _BY_LOWER.get(schedule_type.strip().lower(), schedule_type)
    if sampler not in _SAMPLERS:
        raise InputError("sampler.unknown", name=name, known=", ".join(SAMPLERS))
    if schedule_type not in SCHEDULE_TYPES:
        raise InputError("sampler.unknown_schedule", name=schedule_type, known=", ".join(SCHEDULE_TYPES))
    return sampler, schedule_type


def calls_per_step(sampler: str) -> int:
    """How many model calls the sampler makes per step in A1111 (2 for Heun, DPM2, DPM2 a,
    DPM++ 2S a and DPM++ SDE; prompt-editing step counters count these doubled steps)."""
    return _SAMPLERS[split_name(sampler)[0]].calls_per_step


def schedule_types_for(sampler: str) -> tuple[str, ...]:
    """The schedule types ``sampler`` can use (always includes ``Automatic``)."""
    name = split_name(sampler)[0]
    accepted = _accepted_keys(_SAMPLERS[name].scheduler)
    return tuple(t for t in SCHEDULE_TYPES if t == "Automatic" or set(_SCHEDULE_KEYS[t]) <= accepted)


def make_scheduler(sampler: str, schedule_type: str, config: Mapping[str, Any],
                   seeds: list[int] | None = None, downcast_alphas_cumprod: bool = False) -> Any:
    """Build a fresh diffusers scheduler for ``sampler`` + ``schedule_type`` from ``config``.

    ``config`` is the model's own scheduler config (``pipe.scheduler.config`` as loaded). ``seeds``
    (the image seeds of the batch) seed the Brownian noise of ``DPM++ SDE`` so that runs repeat.
    ``downcast_alphas_cumprod`` rounds the model's ``alphas_cumprod`` to float16 first.
    """
    name, schedule_type = split_name(sampler, schedule_type)
    spec = _SAMPLERS[name]
    if spec.scheduler == "DPMSolverSDEScheduler" and importlib.util.find_spec("torchsde") is None:
        raise InputError("sampler.torchsde")
    if schedule_type not in schedule_types_for(name):
        raise InputError("sampler.schedule", name=name, schedule=schedule_type,
                         allowed=", ".join(schedule_types_for(name)))

    import diffusers

    cls = getattr(diffusers, spec.scheduler)
    accepted = _accepted_keys(spec.scheduler)
    effective = spec.automatic if schedule_type == "Automatic" else schedule_type
    kwargs: dict[str, Any] = dict(spec.kwargs)
    kwargs.update({flag: False for flag in _SIGMA_FLAGS if flag in accepted})
    if "timestep_spacing" in accepted:
        kwargs["timestep_spacing"] = "linspace"  # not the folder's value (it varies with how it was saved)
    kwargs.update(_TIMESTEPS_KEYS if effective == "Timesteps" else _SCHEDULE_KEYS[effective])
    if spec.scheduler == "DPMSolverSDEScheduler" and seeds:
        kwargs["noise_sampler_seed"] = seeds if len(seeds) > 1 else seeds[0]
    # Keys of another scheduler class (the model's may be PNDM) would only log warnings.
    own_config = {key: value for key, value in config.items() if key in accepted or key.startswith("_")}
    if downcast_alphas_cumprod:
        kwargs["trained_betas"] = _downcast_betas(cls.from_config(own_config))
    return cls.from_config(own_config, **kwargs)


def _downcast_betas(scheduler: Any) -> list[float]:
    """The betas whose product of ``1 - beta`` is the model's ``alphas_cumprod`` rounded to
    float16. For the ``scaled_linear`` schedule of SD 1.x the values are first computed in
    float64 and stored as float32, as A1111 (the LDM code) does, so the rounding matches it."""
    import torch

    config = scheduler.config
    if config.beta_schedule == "scaled_linear" and config.trained_betas is None:
        betas = torch.linspace(config.beta_start**0.5, config.beta_end**0.5, config.num_train_timesteps,
                               dtype=torch.float64) ** 2
        alphas_cumprod = torch.cumprod(1 - betas, dim=0).float()
    else:
        alphas_cumprod = scheduler.alphas_cumprod
    rounded = alphas_cumprod.to(torch.float16).double()
    previous = torch.cat([torch.ones(1, dtype=torch.float64), rounded[:-1]])
    return (1 - rounded / previous).tolist()


@functools.cache
def _accepted_keys(scheduler: str) -> frozenset[str]:
    import inspect

    import diffusers

    return frozenset(inspect.signature(getattr(diffusers, scheduler).__init__).parameters)
