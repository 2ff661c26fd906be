"""The built wheel carries what `omnitalker generate` needs: the modules, the tiny checkpoints and the sample clips.

The build runs on a copy of the sources in a temporary folder (no `build/` or `dist/` left in the checkout), without
build isolation, so it needs no network: `python -m build` (nbdev depends on it) makes the sdist, then the wheel from
the sdist, which also checks that the sdist carries everything setup.py reads.
"""
import shutil, subprocess, sys, zipfile
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
NEEDED = ['checkpoints/generator_tiny.json', 'checkpoints/generator_tiny.safetensors', 'checkpoints/generator_tiny.recipe.json',
          'checkpoints/renderer_tiny.json', 'checkpoints/renderer_tiny.safetensors',
          'reference_arctic_a0007.mp4', 'reference_arctic_a0007.json', 'arctic_a0007.COPYING', 'README.md',
          'world/sample_a.mp4', 'world/sample_a.json']

@pytest.fixture(scope='module')
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    "The wheel built from a copy of setup.py, settings.ini, README.md, MANIFEST.in, omnitalker/ and data_samples/."
    pytest.importorskip('build')
    tmp = tmp_path_factory.mktemp('wheel')
    src, dist = tmp / 'src', tmp / 'dist'
    src.mkdir()
    for name in ('setup.py', 'settings.ini', 'README.md', 'MANIFEST.in'): shutil.copy2(ROOT / name, src / name)
    for name in ('omnitalker', 'data_samples'):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns('__pycache__', '*.pyc', '.*'))
    r = subprocess.run([sys.executable, '-m', 'build', '--no-isolation', '--outdir', str(dist), str(src)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    (whl,) = dist.glob('omnitalker-*.whl')
    return zipfile.ZipFile(whl)

def test_wheel_holds_the_modules(wheel):
    names = set(wheel.namelist())
    for py in sorted((ROOT / 'omnitalker').glob('*.py')): assert f'omnitalker/{py.name}' in names, py.name
    assert any(n.endswith('entry_points.txt') and 'omnitalker.cli:main' in wheel.read(n).decode() for n in names)

def test_wheel_holds_the_package_data(wheel):
    "Every file generate, info and train --print-recipe read by default is inside, byte for byte."
    names = set(wheel.namelist())
    for rel in NEEDED:
        assert f'omnitalker/data_samples/{rel}' in names, rel
        assert wheel.read(f'omnitalker/data_samples/{rel}') == (ROOT / 'data_samples' / rel).read_bytes(), rel

def _tracked_samples() -> list[str] | None:
    "The files of data_samples/ that git tracks (None outside a git checkout)."
    r = subprocess.run(['git', 'ls-files', 'data_samples'], cwd=ROOT, capture_output=True, text=True)
    return sorted(r.stdout.split()) if r.returncode == 0 and r.stdout.strip() else None

def test_wheel_holds_the_samples_git_holds_and_nothing_stray(wheel):
    "The sample files in the wheel are exactly those in git (a stray file in data_samples/ stays out); no notebooks, no caches."
    data = sorted(n.removeprefix('omnitalker/') for n in wheel.namelist() if n.startswith('omnitalker/data_samples/'))
    tracked = _tracked_samples()
    if tracked is not None: assert data == tracked, set(data) ^ set(tracked)
    else: assert all((ROOT / n).is_file() for n in data)
    assert not [n for n in wheel.namelist() if n.endswith(('.ipynb', '.pyc')) or '__pycache__' in n]
    size = sum(i.file_size for i in wheel.infolist())
    assert size < 25e6, f'the wheel unpacks to {size / 1e6:.1f} MB'
