import subprocess
import sys


def test_importing_the_engine_does_not_warn_about_torchvision() -> None:
    code = "import sdaug.engine.run"
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert "torchvision" not in completed.stderr + completed.stdout
