"""infotext_params / request_fields / split_sampler_name."""

import pytest

from sdaug.engine.request import GenerationRequest
from sdaug.prompts import (
    format_infotext,
    infotext_params,
    parse_infotext,
    request_fields,
    split_sampler_name,
)
from sdaug.prompts.params import VERSION


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("DPM++ 2M Karras", ("DPM++ 2M", "Karras")),
        ("DPM++ SDE Karras", ("DPM++ SDE", "Karras")),
        ("LMS Karras", ("LMS", "Karras")),
        ("DPM++ 2M SDE Exponential", ("DPM++ 2M SDE", "Exponential")),
        ("Euler SGM Uniform", ("Euler", "SGM Uniform")),
        ("Euler Uniform", ("Euler", "Uniform")),
        ("dpm++ 2m karras", ("dpm++ 2m", "Karras")),
        ("DPM++ 2M", ("DPM++ 2M", "Automatic")),
        ("Euler a", ("Euler a", "Automatic")),
        ("DPM++ SDE", ("DPM++ SDE", "Automatic")),
        ("Karras", ("Karras", "Automatic")),
        ("  DPM++  2M   Karras ", ("DPM++ 2M", "Karras")),
    ],
)
def test_split_sampler_name(name, expected):
    assert split_sampler_name(name) == expected


def test_infotext_params_txt2img():
    request = GenerationRequest(prompt="cat", steps=4, cfg_scale=7.0, width=500, height=375, model="tiny")
    assert infotext_params(request, seed=12) == {
        "Steps": "4",
        "Sampler": "DPM++ 2M",
        "Schedule type": "Automatic",
        "CFG scale": "7",
        "Seed": "12",
        "Size": "500x375",
        "Model": "tiny",
        "Version": VERSION,
    }


def test_infotext_params_img2img_with_everything():
    request = GenerationRequest(
        mode="img2img",
        cfg_scale=6.5,
        denoising_strength=0.34,
        clip_skip=2,
        extra_params={"VAE": "vae.safetensors", "Model hash": "stale", "Version": "v1.6.0", "Steps": "99"},
    )
    params = infotext_params(
        request,
        seed=3,
        model_name="realistic",
        model_hash="fe7578cb5e",
        extra={"Lora hashes": "a: 0123456789ab"},
    )
    assert params["CFG scale"] == "6.5"
    assert params["Denoising strength"] == "0.34"
    assert params["Clip skip"] == "2"
    assert params["Model"] == "realistic"
    assert params["Model hash"] == "fe7578cb5e"
    assert params["Steps"] == "20"  # computed keys win over pasted ones
    assert params["VAE"] == "vae.safetensors"
    assert params["Lora hashes"] == "a: 0123456789ab"
    assert params["Version"] == VERSION
    text = format_infotext("p", "", params)
    assert text.endswith(f'Lora hashes: "a: 0123456789ab", Version: {VERSION}')


def test_infotext_params_leaves_out_defaults():
    params = infotext_params(GenerationRequest(clip_skip=1, denoising_strength=0.5), seed=1)
    assert "Clip skip" not in params
    assert "Denoising strength" not in params  # txt2img
    assert "Model" not in params and "Model hash" not in params


def test_request_fields_spec_example():
    text = (
        "snow\nNegative prompt: blur\nSteps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 712934690, "
        "Size: 500x375, Model hash: fe7578cb5e, Model: realistic, Denoising strength: 0.34, Clip skip: 2, "
        'Lora hashes: "snowfall: f8324b7af7d9", Version: v1.6.0'
    )
    fields, extras = request_fields(parse_infotext(text))
    assert fields == {
        "prompt": "snow",
        "negative_prompt": "blur",
        "steps": 20,
        "sampler": "DPM++ 2M",
        "schedule_type": "Karras",
        "cfg_scale": 7.0,
        "seed": 712934690,
        "width": 500,
        "height": 375,
        "model": "realistic",
        "denoising_strength": 0.34,
        "clip_skip": 2,
        "rng": "GPU",  # no RNG key: A1111's default source
        "compat": ["Downcast alphas_cumprod"],  # Version v1.6.0 is below v1.7.0-225
    }
    assert extras == {
        "Model hash": "fe7578cb5e",
        "Lora hashes": "snowfall: f8324b7af7d9",
        "Version": "v1.6.0",
    }
    GenerationRequest(mode="img2img", init_images=[object()], **fields, extra_params=extras).validate()


@pytest.mark.parametrize(
    ("params", "sampler", "schedule"),
    [
        ({"Sampler": "DPM++ 2M", "Schedule type": "Karras"}, "DPM++ 2M", "Karras"),
        ({"Schedule type": "Exponential", "Sampler": "DPM++ 2M Karras"}, "DPM++ 2M", "Exponential"),
        ({"Sampler": "DPM++ 2M Karras", "Schedule type": "Uniform"}, "DPM++ 2M", "Uniform"),
        ({"Sampler": "Euler a"}, "Euler a", "Automatic"),
    ],
)
def test_request_fields_sampler_and_schedule(params, sampler, schedule):
    fields, _ = request_fields(params)
    assert (fields["sampler"], fields["schedule_type"]) == (sampler, schedule)


def test_request_fields_lenient_numbers():
    fields, _ = request_fields({"Steps": "20.0", "Seed": "-1", "Size": "512X768", "CFG scale": "7"})
    assert fields == {"steps": 20, "seed": -1, "width": 512, "height": 768, "cfg_scale": 7.0, "rng": "GPU",
                      "compat": []}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("Steps", "twenty"),
        ("Steps", "20.5"),
        ("Seed", ""),
        ("CFG scale", "high"),
        ("CFG scale", "nan"),
        ("Denoising strength", "inf"),
        ("Clip skip", "2.5"),
        ("Size", "512"),
        ("Size", "512xabc"),
        ("Sampler", "  "),
        ("Schedule type", ""),
    ],
)
def test_request_fields_bad_values_name_the_key(key, value):
    with pytest.raises(ValueError, match=key):
        request_fields({key: value})


def test_round_trip_request_through_infotext():
    request = GenerationRequest(
        mode="img2img",
        prompt="a, b\nc",
        negative_prompt="x: y",
        steps=7,
        cfg_scale=5.5,
        seed=9,
        width=504,
        height=376,
        denoising_strength=0.4,
        clip_skip=3,
        model="m",
        sampler="Euler",
        schedule_type="Karras",
        extra_params={"VAE": "v"},
        rng="GPU",
        compat=["Pad conds v0", "Downcast alphas_cumprod"],
    )
    params = infotext_params(request, seed=request.seed)
    assert params["Pad conds v0"] == params["Downcast alphas_cumprod"] == "True"
    fields, extras = request_fields(
        parse_infotext(format_infotext(request.prompt, request.negative_prompt, params))
    )
    for name, value in fields.items():
        assert sorted(getattr(request, name)) == sorted(value) if name == "compat" else getattr(request, name) == value, name
    assert extras == {"VAE": "v", "Version": VERSION}


@pytest.mark.parametrize(
    ("line", "rng", "compat"),
    [
        # Flags as written win; any value but False is on (A1111 casts with bool()).
        ("Downcast alphas_cumprod: True", "GPU", ["Downcast alphas_cumprod"]),
        ("Downcast alphas_cumprod: False, Version: v1.6.0", "GPU", []),
        ("Old prompt editing timelines: True, Pad conds v0: True", "GPU", ["Old prompt editing timelines",
                                                                           "Pad conds v0"]),
        ("Refiner switch by sampling steps: True", "GPU", ["Refiner switch by sampling steps"]),
        ("RNG: NV", "NV", []),
        ("RNG: CPU, Version: v1.10.1", "CPU", []),
    ],
)
def test_request_fields_flags_and_rng(line, rng, compat):
    fields, extras = request_fields(parse_infotext(f"cat\nSteps: 2, Seed: 1, {line}"))
    assert (fields["rng"], fields["compat"]) == (rng, compat)
    assert not any(key in extras for key in ("RNG", "Downcast alphas_cumprod", "Pad conds v0"))


def test_infotext_params_write_only_flags_that_are_on():
    params = infotext_params(GenerationRequest(compat=["Old prompt editing timelines"]), seed=1)
    assert params["Old prompt editing timelines"] == "True"
    assert not any(flag in params for flag in ("Pad conds v0", "Downcast alphas_cumprod", "RNG"))
    assert list(params)[-2:] == ["Old prompt editing timelines", "Version"]
