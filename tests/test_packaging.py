"""The wheel: one top-level import name, every module of the three folders, and it works.

The repository keeps ``computations/``, ``inplace/`` and ``schedulers/`` at
its top; setup.cfg's ``package_dir`` installs the last two as
``computations.inplace`` and ``computations.schedulers``, so a user's
site-packages gains the one name ``computations``.
"""
import pathlib
import shutil
import subprocess
import sys
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
FOLDERS = {'computations': 'computations', 'inplace': 'computations/inplace',
           'schedulers': 'computations/schedulers'}


@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    """A wheel built, without the network, from a copy of the sources (no build/ in the tree)."""
    source, out = tmp_path_factory.mktemp('source'), tmp_path_factory.mktemp('wheel')
    for name in ('setup.cfg', 'pyproject.toml', 'README.md'):
        shutil.copy(ROOT / name, source / name)
    for folder in FOLDERS:
        shutil.copytree(ROOT / folder, source / folder,
                        ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps', '--no-build-isolation',
                    '--disable-pip-version-check', '-w', str(out), str(source)],
                   check=True, capture_output=True, text=True)
    (path,) = out.glob('computations-*.whl')
    return path


def test_the_wheel_installs_only_computations_at_the_top_level(wheel):
    with zipfile.ZipFile(wheel) as archive:
        (top_level,) = [n for n in archive.namelist() if n.endswith('.dist-info/top_level.txt')]
        assert archive.read(top_level).decode().split() == ['computations']
        tops = {n.split('/')[0] for n in archive.namelist() if '.dist-info/' not in n}
    assert tops == {'computations'}


def test_the_wheel_holds_every_module_of_the_three_folders(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    expected = {f'{installed}/{path.relative_to(ROOT / folder).as_posix()}'
                for folder, installed in FOLDERS.items()
                for path in (ROOT / folder).rglob('*.py') if '__pycache__' not in path.parts}
    assert expected - names == set()


def test_the_installed_wheel_imports_by_one_name(wheel, tmp_path):
    site = tmp_path / 'site'
    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps',
                    '--disable-pip-version-check', '--target', str(site), str(wheel)],
                   check=True, capture_output=True, text=True)
    code = ('import importlib.util, computations, computations.inplace, computations.schedulers\n'
            'from computations.schedulers.codegen import compile_source\n'
            'print(computations.inplace.__file__)\n'
            'print(importlib.util.find_spec("inplace"), importlib.util.find_spec("schedulers"))\n')
    # Only the installed copy on the path: not the checkout, not the editable install.
    run = subprocess.run([sys.executable, '-I', '-c', f'import sys; sys.path.insert(0, {str(site)!r})\n'
                          + code], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    installed, missing = run.stdout.splitlines()
    assert installed == str(site / 'computations' / 'inplace' / '__init__.py')
    assert missing == 'None None'
