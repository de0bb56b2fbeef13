import pytest
import torch

from sdaug.engine.samplers import (
    SAMPLERS,
    SCHEDULE_TYPES,
    calls_per_step,
    make_scheduler,
    schedule_types_for,
    split_name,
)
from sdaug.engine.tiny import tiny_pipeline

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


def test_model_schedule_is_kept_for_automatic_euler() -> None:
    config = {**SD15_CONFIG, "timestep_spacing": "trailing", "_use_default_values": []}
    assert make_scheduler("Euler", "Automatic", config).config.timestep_spacing == "trailing"


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
