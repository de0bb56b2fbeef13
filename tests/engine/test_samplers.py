import json
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import PNDMScheduler

from sdaug.engine.samplers import (
    SAMPLERS,
    SCHEDULE_TYPES,
    calls_per_step,
    make_scheduler,
    schedule_types_for,
    split_name,
)
from sdaug.engine.tiny import tiny_pipeline
from sdaug.resources import package_path

SD15_CONFIG = dict(tiny_pipeline().scheduler.config)


def test_display_names_match_the_spec() -> None:
    assert SAMPLERS == ("DPM++ 2M", "DPM++ SDE", "DPM++ 2M SDE", "DPM++ 2S a", "DPM++ 3M SDE", "Euler a",
                        "Euler", "LMS", "Heun", "DPM2", "DPM2 a", "DDIM", "PLMS", "UniPC", "LCM")
    assert SCHEDULE_TYPES == ("Automatic", "Uniform", "Karras", "Exponential", "SGM Uniform")


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_every_sampler_and_schedule_type_builds_a_scheduler(sampler: str) -> None:
    for schedule_type in schedule_types_for(sampler):
        scheduler = make_scheduler(sampler, schedule_type, SD15_CONFIG, seeds=[1, 2])
        scheduler.set_timesteps(4)
        assert len(scheduler.timesteps) >= 4


@pytest.mark.parametrize(
    ("name", "cls", "settings"),
    [
        ("DPM++ 2M", "DPMSolverMultistepScheduler",
         {"algorithm_type": "dpmsolver++", "solver_order": 2, "use_karras_sigmas": True}),
        ("DPM++ 2M Karras", "DPMSolverMultistepScheduler", {"use_karras_sigmas": True}),
        ("DPM++ 2M SDE", "DPMSolverMultistepScheduler",
         {"algorithm_type": "sde-dpmsolver++", "use_exponential_sigmas": True, "use_karras_sigmas": False}),
        ("DPM++ 3M SDE", "DPMSolverMultistepScheduler", {"solver_order": 3}),
        ("DPM++ SDE Karras", "DPMSolverSDEScheduler", {"use_karras_sigmas": True}),
        ("DPM++ 2S a", "DPMSolverSinglestepScheduler", {"use_karras_sigmas": True}),
        ("Euler a", "EulerAncestralDiscreteScheduler", {}),
        ("Euler", "EulerDiscreteScheduler", {"use_karras_sigmas": False}),
        ("LMS Karras", "LMSDiscreteScheduler", {"use_karras_sigmas": True}),
        ("Heun", "HeunDiscreteScheduler", {}),
        ("DPM2", "KDPM2DiscreteScheduler", {"use_karras_sigmas": True}),
        ("DPM2 a", "KDPM2AncestralDiscreteScheduler", {"use_karras_sigmas": True}),
        ("DDIM", "DDIMScheduler", {}),
        ("PLMS", "PNDMScheduler", {"skip_prk_steps": True}),
        ("UniPC", "UniPCMultistepScheduler", {"solver_type": "bh1", "solver_order": 3}),
        ("LCM", "LCMScheduler", {}),
    ],
)
def test_automatic_schedule_and_scheduler_settings(name: str, cls: str, settings: dict) -> None:
    scheduler = make_scheduler(name, "Automatic", SD15_CONFIG)
    assert type(scheduler).__name__ == cls
    for key, value in settings.items():
        assert scheduler.config[key] == value, key


@pytest.mark.parametrize(
    ("schedule_type", "settings"),
    [
        ("Uniform", {"timestep_spacing": "linspace", "use_karras_sigmas": False}),
        ("Karras", {"use_karras_sigmas": True, "use_exponential_sigmas": False}),
        ("Exponential", {"use_exponential_sigmas": True, "use_karras_sigmas": False}),
        ("SGM Uniform", {"timestep_spacing": "trailing", "use_karras_sigmas": False}),
    ],
)
def test_schedule_types(schedule_type: str, settings: dict) -> None:
    scheduler = make_scheduler("DPM++ 2M", schedule_type, SD15_CONFIG)
    for key, value in settings.items():
        assert scheduler.config[key] == value, key


# The two folder layouts of the same model (issue 13 item 6): the SD1.5 repository's scheduler
# config (no timestep_spacing) and the one a recent diffusers writes when it saves a folder.
SD15_REPO_CONFIG = json.loads(package_path("assets", "diffusers-configs", "v1", "scheduler",
                                           "scheduler_config.json").read_text())


def _saved_by_diffusers(tmp_path: Path) -> dict:
    PNDMScheduler.from_config(SD15_REPO_CONFIG).save_config(tmp_path)
    saved = json.loads((tmp_path / "scheduler_config.json").read_text())
    assert saved["timestep_spacing"] == "leading" and "timestep_spacing" not in SD15_REPO_CONFIG
    return saved


# A1111's "Automatic" discretisation (spec: "Samplers"): k-diffusion's evenly spaced timesteps
# t = linspace(999, 0, steps) for its samplers, and range(0, 1000, 1000 // steps) + 1 for its
# timestep samplers (DDIM, PLMS).
_LINSPACE_20 = np.linspace(999, 0, 20)
_A1111_TIMESTEPS_20 = np.arange(0, 1000, 1000 // 20)[::-1] + 1


@pytest.mark.parametrize(
    ("sampler", "expected"),
    [
        ("Euler", _LINSPACE_20),
        ("Euler a", _LINSPACE_20),
        ("LMS", _LINSPACE_20),
        ("DDIM", _A1111_TIMESTEPS_20),
        ("PLMS", _A1111_TIMESTEPS_20),
    ],
)
def test_automatic_schedule_is_the_same_for_both_folder_layouts(tmp_path, sampler: str, expected) -> None:
    timesteps = []
    for config in (SD15_REPO_CONFIG, _saved_by_diffusers(tmp_path)):
        scheduler = make_scheduler(sampler, "Automatic", config)
        scheduler.set_timesteps(20)
        timesteps.append(scheduler.timesteps.double().numpy())
    np.testing.assert_array_equal(timesteps[0], timesteps[1])
    np.testing.assert_allclose(np.unique(timesteps[0])[::-1][:20], expected, atol=1e-3)


@pytest.mark.parametrize("sampler", ["Heun", "UniPC", "DPM++ 2M", "DPM2", "DPM2 a", "DPM++ 2M SDE", "LCM"])
def test_automatic_sigmas_are_the_same_for_both_folder_layouts(tmp_path, sampler: str) -> None:
    schedules = []
    for config in (SD15_REPO_CONFIG, _saved_by_diffusers(tmp_path)):
        scheduler = make_scheduler(sampler, "Automatic", config)
        scheduler.set_timesteps(12)
        schedules.append((scheduler.timesteps.double(), getattr(scheduler, "sigmas", torch.zeros(1)).double()))
    torch.testing.assert_close(schedules[0], schedules[1])


def _alphas_cumprod_float16() -> np.ndarray:
    """SD1.5's alphas_cumprod from its config (scaled_linear betas, computed in float64 and kept
    as float32 as the LDM code does), rounded to float16."""
    betas = np.linspace(0.00085**0.5, 0.012**0.5, 1000, dtype=np.float64) ** 2
    return np.cumprod(1 - betas).astype(np.float32).astype(np.float16).astype(np.float64)


def _karras(sigma_min: float, sigma_max: float, steps: int, rho: float = 7.0) -> np.ndarray:
    ramp = np.linspace(0, 1, steps)
    return (sigma_max ** (1 / rho) + ramp * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))) ** rho


def test_downcast_alphas_cumprod_builds_the_schedule_from_float16_values() -> None:
    rounded = _alphas_cumprod_float16()
    noise_levels = np.sqrt((1 - rounded) / rounded)
    expected = _karras(noise_levels[0], noise_levels[-1], 20)
    downcast = make_scheduler("DPM++ 2M", "Karras", SD15_REPO_CONFIG, downcast_alphas_cumprod=True)
    downcast.set_timesteps(20)
    np.testing.assert_allclose(downcast.sigmas[:-1].double().numpy(), expected, rtol=2e-5)
    plain = make_scheduler("DPM++ 2M", "Karras", SD15_REPO_CONFIG)
    plain.set_timesteps(20)
    assert abs(plain.sigmas[-2].item() / expected[-1] - 1) > 0.01  # the flag matters most at low noise
    ddim = make_scheduler("DDIM", "Automatic", SD15_REPO_CONFIG, downcast_alphas_cumprod=True)
    np.testing.assert_allclose(ddim.alphas_cumprod.double().numpy(), rounded, rtol=2e-6)


def test_fresh_scheduler_every_call() -> None:
    assert make_scheduler("Euler a", "Automatic", SD15_CONFIG) is not make_scheduler("Euler a", "Automatic",
                                                                                      SD15_CONFIG)


def test_old_combined_names_and_case() -> None:
    assert split_name("DPM++ 2M Karras") == ("DPM++ 2M", "Karras")
    assert split_name("DPM++ 2M SDE Exponential") == ("DPM++ 2M SDE", "Exponential")
    assert split_name("euler a") == ("Euler a", "Automatic")
    assert split_name("Euler", "karras") == ("Euler", "Karras")


def test_calls_per_step() -> None:
    doubled = {name for name in SAMPLERS if calls_per_step(name) == 2}
    assert doubled == {"Heun", "DPM2", "DPM2 a", "DPM++ 2S a", "DPM++ SDE"}
    assert calls_per_step("DPM++ SDE Karras") == 2


@pytest.mark.parametrize(
    ("sampler", "schedule_type", "message"),
    [
        ("Foo", "Automatic", "unknown sampler 'Foo'; known samplers: DPM\\+\\+ 2M, "),
        ("Euler", "Bogus", "unknown schedule type 'Bogus'; known types: Automatic, Uniform"),
        ("Euler a", "Karras", "sampler 'Euler a' cannot use the 'Karras' schedule; use one of: Automatic"),
    ],
)
def test_bad_names_are_errors_listing_the_known_ones(sampler: str, schedule_type: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_scheduler(sampler, schedule_type, SD15_CONFIG)


def test_dpmpp_sde_without_torchsde_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torchsde" else real(name, *a))
    with pytest.raises(ValueError, match="pip install torchsde"):
        make_scheduler("DPM++ SDE", "Automatic", SD15_CONFIG)


@pytest.mark.filterwarnings("ignore:Should have ta>=t0")  # torchsde's float rounding notice
@pytest.mark.parametrize("sampler", ["Euler a", "Heun", "DPM++ SDE", "DPM++ 2M SDE"])
def test_samplers_run_and_repeat(sampler: str) -> None:
    pipe = tiny_pipeline()

    def once() -> torch.Tensor:
        pipe.scheduler = make_scheduler(sampler, "Automatic", SD15_CONFIG, seeds=[3])
        generator = torch.Generator().manual_seed(3)
        return pipe("snow", num_inference_steps=2, height=64, width=64, generator=generator,
                    output_type="pt").images

    first = once()
    assert first.shape == (1, 3, 64, 64)
    assert torch.equal(first, once())
