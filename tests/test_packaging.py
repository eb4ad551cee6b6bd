"""The distribution: one top-level import name, every module, its metadata, and it works.

The repository keeps ``computations/``, ``inplace/`` and ``schedulers/`` at
its top; setup.cfg's ``package_dir`` installs the last two as
``computations.inplace`` and ``computations.schedulers``, so a user's
site-packages gains the one name ``computations``.

The wheel and the sdist are built, without the network, from a fresh
``git clone`` of this repository: what is committed is what ships (a file
left out of git, or out of setup.cfg, is found here).  The wheel is then
installed into a fresh virtual environment that holds nothing but the runtime
dependencies (linked from the project's ``.venv``, so no download), and run
from another directory.

``./dev``'s own logic (which extras each job installs, and when) is tested on
a copy of the script with a stand-in Python that logs what it is asked to do.
"""
import email.parser
import importlib.metadata
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = pathlib.Path(__file__).resolve().parent.parent
FOLDERS = {'computations': 'computations', 'inplace': 'computations/inplace',
           'schedulers': 'computations/schedulers'}
#: What a user's ``pip install computations`` brings, and nothing else: the
#: test, dask and testing extras stay optional.
RUNTIME = {'numpy', 'scipy', 'sympy', 'networkx', 'graphviz', 'threadpoolctl'}


def run(*command, **options):
    """Run a command, failing the test with its output when it fails."""
    done = subprocess.run(command, capture_output=True, text=True, **options)
    assert done.returncode == 0, f'{command} failed:\n{done.stdout}\n{done.stderr}'
    return done


@pytest.fixture(scope='module')
def clone(tmp_path_factory):
    """A fresh clone of the repository's committed HEAD."""
    path = tmp_path_factory.mktemp('clone') / 'computations'
    run('git', 'clone', '-q', str(ROOT), str(path))
    return path


@pytest.fixture(scope='module')
def wheel(clone, tmp_path_factory):
    """A wheel built from the clone, without the network."""
    out = tmp_path_factory.mktemp('wheel')
    run(sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps', '--no-build-isolation',
        '--disable-pip-version-check', '-w', str(out), str(clone))
    (path,) = out.glob('computations-*.whl')
    return path


@pytest.fixture(scope='module')
def wheel_files(wheel):
    """``{name: bytes}`` of every file in the wheel."""
    with zipfile.ZipFile(wheel) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.fixture(scope='module')
def metadata(wheel_files):
    (name,) = [n for n in wheel_files if n.endswith('.dist-info/METADATA')]
    return email.parser.BytesParser().parsebytes(wheel_files[name])


def dist_info(wheel_files, name):
    """The contents of ``name`` inside the wheel's ``.dist-info`` folder."""
    (found,) = [n for n in wheel_files if re.fullmatch(r'[^/]+\.dist-info/' + re.escape(name), n)]
    return wheel_files[found]


def test_the_wheel_installs_only_computations_at_the_top_level(wheel_files):
    assert dist_info(wheel_files, 'top_level.txt').decode().split() == ['computations']
    tops = {n.split('/')[0] for n in wheel_files if '.dist-info/' not in n}
    assert tops == {'computations'}


def test_the_wheel_holds_every_committed_module_of_the_three_folders(wheel_files, clone):
    expected = {f'{installed}/{path.relative_to(clone / folder).as_posix()}'
                for folder, installed in FOLDERS.items()
                for path in (clone / folder).rglob('*.py')}
    assert len(expected) > 50
    assert expected - set(wheel_files) == set()


def test_the_wheel_ships_the_type_hints_marker(wheel_files):
    assert 'computations/py.typed' in wheel_files


def test_the_license_ships_in_the_wheel_and_the_sdist(wheel_files, metadata, clone,
                                                      tmp_path_factory):
    license_text = (clone / 'LICENSE').read_bytes()
    assert b'BSD 3-Clause License' in license_text
    assert b'Copyright (c) 2026, the computations developers' in license_text
    assert dist_info(wheel_files, 'licenses/LICENSE') == license_text
    assert metadata['License-Expression'] == 'BSD-3-Clause'
    assert metadata.get_all('License-File') == ['LICENSE']

    out = tmp_path_factory.mktemp('sdist')
    run(sys.executable, '-c', 'import sys; from setuptools import build_meta; '
        'build_meta.build_sdist(sys.argv[1])', str(out), cwd=clone)
    (sdist,) = out.glob('computations-*.tar.gz')
    with tarfile.open(sdist) as archive:
        names = {name.partition('/')[2]: name for name in archive.getnames()}
        assert archive.extractfile(names['LICENSE']).read() == license_text
        assert {'README.md', 'setup.cfg', 'pyproject.toml', 'computations/py.typed',
                'inplace/__init__.py', 'schedulers/__init__.py'} <= set(names)


def test_the_metadata_requires_only_the_runtime_dependencies_unconditionally(metadata):
    requirements = [Requirement(text) for text in metadata.get_all('Requires-Dist')]
    unconditional = {canonicalize_name(r.name) for r in requirements if r.marker is None}
    assert unconditional == RUNTIME
    optional = [r for r in requirements if r.marker is not None]
    assert {canonicalize_name(r.name) for r in optional} >= {'pytest', 'hypothesis', 'dask',
                                                             'sphinx'}
    for requirement in optional:   # each optional one is asked for by an extra only
        marker = str(requirement.marker)
        assert re.fullmatch(r'extra == "[\w-]+"', marker), marker
        assert not requirement.marker.evaluate({'extra': ''})


def test_the_metadata_has_one_version_classifiers_and_python_requires(metadata, clone):
    source = (clone / 'computations' / '__init__.py').read_text()
    (version,) = re.findall(r"^__version__ = '([^']+)'$", source, re.M)
    assert metadata['Version'] == version
    assert metadata['Requires-Python'] == '>=3.10'
    classifiers = set(metadata.get_all('Classifier'))
    assert {f'Programming Language :: Python :: 3.{minor}' for minor in (10, 11, 12)} <= classifiers
    assert {'Operating System :: OS Independent', 'Development Status :: 3 - Alpha',
            'Topic :: Scientific/Engineering'} <= classifiers


def test_the_installed_wheel_imports_by_one_name(wheel, tmp_path):
    site = tmp_path / 'site'
    run(sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', '--disable-pip-version-check',
        '--target', str(site), str(wheel))
    code = ('import importlib.util, computations, computations.inplace, computations.schedulers\n'
            'from computations.schedulers.codegen import compile_source\n'
            'print(computations.inplace.__file__)\n'
            'print(importlib.util.find_spec("inplace"), importlib.util.find_spec("schedulers"))\n')
    # Only the installed copy on the path: not the checkout, not the editable install.
    done = run(sys.executable, '-I', '-c', f'import sys; sys.path.insert(0, {str(site)!r})\n'
               + code, cwd=tmp_path)
    installed, missing = done.stdout.splitlines()
    assert installed == str(site / 'computations' / 'inplace' / '__init__.py')
    assert missing == 'None None'


# A fresh virtual environment with the runtime dependencies only ----------------------


def runtime_distributions(metadata):
    """The installed distributions that the wheel's unconditional requirements need,
    transitively (from the project's own environment)."""
    environment = {'extra': ''}
    todo = [Requirement(t) for t in metadata.get_all('Requires-Dist')]
    found = {}
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        if name in found or (requirement.marker and not requirement.marker.evaluate(environment)):
            continue
        found[name] = dist = importlib.metadata.distribution(name)
        todo += [Requirement(t) for t in dist.requires or ()]
    return found.values()


@pytest.fixture(scope='module')
def fresh_venv(wheel, metadata, tmp_path_factory):
    """A new virtual environment holding the wheel and its runtime dependencies, nothing else.

    The dependencies are linked from the project's environment into one folder
    that a ``.pth`` file puts on the new environment's path, so pip sees them
    installed and downloads nothing.
    """
    home = tmp_path_factory.mktemp('fresh')
    venv.create(home / 'venv', with_pip=False)
    python = home / 'venv' / 'bin' / 'python'
    purelib = run(str(python), '-c', 'import sysconfig; print(sysconfig.get_path("purelib"))')
    site = pathlib.Path(purelib.stdout.strip())
    linked = home / 'runtime'
    linked.mkdir()
    for dist in runtime_distributions(metadata):
        root = pathlib.Path(dist.locate_file(''))
        assert dist.files, f'{dist.name} has no RECORD: its files cannot be linked'
        for top in {pathlib.PurePath(f).parts[0] for f in dist.files} - {'..'}:
            if (root / top).exists() and not (linked / top).exists():
                (linked / top).symlink_to(root / top)
    (site / 'runtime.pth').write_text(f'{linked}\n')
    run(sys.executable, '-m', 'pip', '--python', str(python), 'install', '-q', '--no-index',
        '--disable-pip-version-check', str(wheel))
    return home / 'venv' / 'bin'


def clean_environment():
    return {k: v for k, v in os.environ.items() if not k.startswith('PYTHON')}


def test_the_fresh_environment_holds_only_the_runtime_dependencies(fresh_venv, tmp_path):
    done = run(str(fresh_venv / 'python'), '-I', '-c',
               'import computations, importlib.util\n'
               'print(computations.__file__)\n'
               'for name in ("hypothesis", "pytest", "dask", "sphinx", "matplotlib"):\n'
               '    print(name, importlib.util.find_spec(name))\n',
               cwd=tmp_path, env=clean_environment())
    where, *extras = done.stdout.splitlines()
    assert pathlib.Path(where).is_relative_to(fresh_venv.parent)
    assert all(line.endswith(' None') for line in extras), extras


def test_the_kalman_demo_runs_from_another_directory(fresh_venv, tmp_path):
    done = run(str(fresh_venv / 'python'), '-I', '-m', 'computations', 'run', 'kalman', '--check',
               '--size', 'n=200', '--size', 'k=100', cwd=tmp_path, env=clean_environment())
    assert 'check against NumPy (lambdify)' in done.stdout
    assert done.stdout.rstrip().endswith(': OK')


def test_the_readme_python_examples_run_from_another_directory(tmp_path):
    """The README's ``>>>`` examples, from a directory that is not the repository (they
    use Dask too, so in the test environment, not the fresh one)."""
    done = run(sys.executable, '-c',
               'import doctest, sys\n'
               f'r = doctest.testfile({str(ROOT / "README.md")!r}, module_relative=False, '
               'optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)\n'
               'print(r.attempted)\n'
               'sys.exit(r.failed)\n', cwd=tmp_path)
    assert int(done.stdout.split()[-1]) > 50


def test_the_console_script_prints_the_version(fresh_venv, metadata, tmp_path):
    done = run(str(fresh_venv / 'computations'), '--version', cwd=tmp_path, env=clean_environment())
    assert done.stdout.split() == ['computations', metadata['Version']]


# ./dev: what each job installs --------------------------------------------------------


@pytest.fixture
def dev(tmp_path):
    """A copy of ./dev, setup.cfg and pyproject.toml whose .venv's Python only logs its calls;
    returns a function that runs a job and returns the log of that run."""
    for name in ('dev', 'setup.cfg', 'pyproject.toml'):
        shutil.copy2(ROOT / name, tmp_path / name)
    python = tmp_path / '.venv' / 'bin' / 'python'
    python.parent.mkdir(parents=True)
    log = tmp_path / 'log'
    python.write_text(f'#!/bin/sh\necho "$*" >> {log}\n')
    python.chmod(0o755)

    def job(*args):
        log.write_text('')
        env = {k: v for k, v in os.environ.items() if k not in ('VENV', 'PYTHON')}
        run(str(tmp_path / 'dev'), *args, env=env)
        return [re.sub(r' -q --disable-pip-version-check', '', line)
                for line in log.read_text().splitlines()]
    job.folder = tmp_path
    return job


UPGRADE_PIP = '-m pip install --upgrade pip'
#: How ./dev test runs pytest: a pytest-xdist worker per core, at most 4.
PYTEST = '-m pytest -n auto --maxprocesses=4'


def test_dev_demo_installs_the_runtime_dependencies_and_test_the_test_extra(dev):
    assert dev('demo') == [UPGRADE_PIP, '-m pip install -e .',
                           '-m computations run kalman --check --bench --svg out/kalman.svg']
    assert dev('test', '-q') == [UPGRADE_PIP, '-m pip install -e .[test]', f'{PYTEST} -q']
    # Each job finds what it needs installed: nothing again, either way round.
    assert dev('demo', 'show') == ['-m computations show']
    assert dev('test') == [PYTEST]
    assert dev('python', '-V') == ['-V']
    # the benchmarks add their peers (JAX, PyTensor) to the test extra, once
    assert dev('bench', 'small') == [UPGRADE_PIP, '-m pip install -e .[peers]',
                                     'benchmarks/bench_small.py']
    assert dev('bench', 'small', '--quick') == ['benchmarks/bench_small.py --quick']


def test_dev_installs_again_when_setup_cfg_changes(dev):
    dev('test')
    with open(dev.folder / 'setup.cfg', 'a') as setup:
        setup.write('# changed\n')
    assert dev('demo', 'show') == [UPGRADE_PIP, '-m pip install -e .', '-m computations show']
    assert dev('test') == [UPGRADE_PIP, '-m pip install -e .[test]', PYTEST]
    assert dev('demo', 'show') == ['-m computations show']


def test_dev_without_a_job_prints_its_usage_in_whole_sentences():
    done = subprocess.run([str(ROOT / 'dev')], capture_output=True, text=True)
    assert done.returncode == 2 and done.stdout == ''
    usage = done.stderr
    for job in ('demo', 'test', 'bench NAME', 'docs', 'python ARGS'):
        assert f'./dev {job}' in usage
    paragraphs = [p for p in usage.split('\n\n') if p.strip()]
    assert paragraphs[0].startswith('The project') and paragraphs[-1].rstrip().endswith('.')
    # Every line of the script's opening comment is printed.
    script = (ROOT / 'dev').read_text().splitlines()
    comment = next(i for i, line in enumerate(script[1:], 1) if not line.startswith('#'))
    assert usage.splitlines() == [re.sub(r'^# ?', '', line) for line in script[1:comment]]
