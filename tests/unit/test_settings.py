from pathlib import Path

import pytest

from sdaug.settings import DEFAULT_MODEL, Settings


def test_defaults_and_folders(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    assert settings.default_model == DEFAULT_MODEL == "stable-diffusion-v1-5/stable-diffusion-v1-5"
    assert (settings.device, settings.dtype, settings.memory_mode) == ("auto", "auto", "auto")
    settings.ensure_dirs()
    for name in ("models", "loras", "controlnet", "outputs", "projects"):
        assert (tmp_path / name).is_dir()


def test_environment_overrides(tmp_path: Path) -> None:
    env = {"SDAUG_HOME": str(tmp_path), "SDAUG_MEMORY_MODE": "model-offload", "SDAUG_ALLOW_PICKLE": "yes"}
    settings = Settings.from_env(env, device=None, lang="zh")
    assert settings.home == tmp_path
    assert settings.memory_mode == "model-offload"
    assert settings.allow_pickle is True
    assert settings.lang == "zh"
    assert settings.device == "auto"  # None overrides are ignored


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SDAUG_MEMORY_MODE": "tiny"}, "memory_mode must be one of"),
        ({"SDAUG_DEVICE": "tpu"}, "device must be one of"),
        ({"SDAUG_ALLOW_PICKLE": "maybe"}, "SDAUG_ALLOW_PICKLE must be true or false"),
    ],
)
def test_bad_values_name_the_setting(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings.from_env(env)
