"""The wheel is installable for real: built from the source tree, installed into a fresh venv
outside it, the command line and a model run from there, data files included.

The fresh venv gets the package from the wheel only (``pip install --no-deps``); its third-party
dependencies are borrowed from the project's environment through a ``.pth`` path entry, so the
test needs no network and checks what the wheel itself carries.
"""

import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    # Build from a clean copy: a build inside the work tree could reuse an old egg-info manifest.
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "scaling_lab", src / "scaling_lab",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.nbi", "*.nbc"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(tmp / "dist"), str(src)], check=True, cwd=tmp)
    wheel = next((tmp / "dist").glob("scaling_lab-*.whl"))
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    (Path(site) / "project-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                    str(wheel)], check=True, cwd=tmp)
    return python, tmp


def run(python, cwd, *args):
    return subprocess.run([python, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_the_package_comes_from_the_wheel_not_the_source_tree(wheel_env):
    python, tmp = wheel_env
    out = run(python, tmp, "-c", "import scaling_lab as sl; print(sl.__file__); print(sl.__version__)")
    assert out.returncode == 0, out.stderr
    path, version = out.stdout.split()
    assert str(tmp / "venv") in path and str(ROOT) not in path
    assert version == run(sys.executable, ROOT, "-c", "import scaling_lab; print(scaling_lab.__version__)").stdout.strip()


def test_the_cli_plans_from_the_installed_wheel(wheel_env):
    python, tmp = wheel_env
    out = run(python, tmp, "-m", "scaling_lab", "plan", "--daily-users", "1e6")
    assert out.returncode == 0, out.stderr
    assert "1,000,000" in out.stdout


def test_a_model_and_the_shipped_data_work_from_the_wheel(wheel_env):
    python, tmp = wheel_env
    code = ("import scaling_lab as sl; print(round(sl.erlang_b(2, 1.0), 7)); "
            "print(len(sl.load_cities()), len(sl.load_cloud_regions()) > 0)")
    out = run(python, tmp, "-c", code)
    assert out.returncode == 0, out.stderr
    b, cities, regions = out.stdout.split()
    assert float(b) == 0.2  # Erlang B with 2 servers and 1 erlang is exactly 1/5
    assert int(cities) == 55 and regions == "True"
