"""The documentation site (docs/) builds with Sphinx, warnings as errors.

Sphinx runs in a subprocess, so that the warnings it raises while importing
and documenting the modules are its own business (Sphinx turns its warnings
into errors with ``-W``) and not this process's (pytest's ``filterwarnings =
error``).  The build goes into a temporary directory, never into docs/.  The
``>>>`` examples of the pages run as doctests too: setup.cfg lists
docs/tutorial.md and docs/overview.md in ``testpaths``.
"""
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import computations
from computations import inplace, schedulers

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / 'docs'
PAGES = ['index', 'overview', 'tutorial', 'gradients', 'design', 'reference', 'supported',
         'api', 'benchmarks',
         'benchmarks/suite', 'benchmarks/applications']


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    """Build the site once for this module's tests; the path of the HTML output."""
    out = tmp_path_factory.mktemp('docs')
    html = out / 'html'
    command = [sys.executable, '-m', 'sphinx', '-W', '--keep-going', '-b', 'html', '-q',
               '-d', str(out / 'doctrees'), str(DOCS), str(html)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (f'sphinx-build failed ({result.returncode}):\n'
                                    f'{result.stdout}\n{result.stderr}')
    return html


def modules():
    """Every module of the three packages, except ``__main__`` scripts."""
    names = []
    for package in (computations, inplace, schedulers):
        names.append(package.__name__)
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):
            if not info.name.endswith('__main__'):
                names.append(info.name)
    return names


def test_the_site_builds_without_warnings_and_has_every_page(site):
    for page in PAGES:
        assert (site / f'{page}.html').is_file(), page
    assert (site / 'genindex.html').is_file() and (site / 'py-modindex.html').is_file()


def test_the_api_page_documents_every_module(site):
    """docs/api.rst lists the modules in reading order; docs/conf.py adds any it does not."""
    api = (site / 'api.html').read_text(encoding='utf-8')
    documented = set(re.findall(r'id="module-([\w.]+)"', api))
    missing = [name for name in modules() if name not in documented]
    assert not missing, f'modules missing from the API page: {missing}'


@pytest.mark.parametrize('name', [
    'computations.front_door.function', 'computations.front_door.Function',
    'computations.core.Computation', 'computations.core.CompositeComputation',
    'computations.matrices.ops.lapack.POSV', 'computations.matrices.ops.blas.GEMM',
    'computations.inplace.compile.inplace_compile', 'computations.inplace.check.check', 'computations.inplace.check.UnsafeInplaceError',
    'computations.inplace.tokens.TokenComputation', 'computations.schedulers.execute.execute',
    'computations.schedulers.codegen.generate',
])
def test_the_api_page_describes_the_public_names(site, name):
    api = (site / 'api.html').read_text(encoding='utf-8')
    assert f'id="{name}"' in api, name


def test_the_public_page_describes_the_front_door_and_only_public_names(site):
    """docs/reference.md: the public names, under the names users import them by (the
    internals stay on the API page); numpydoc sections render as fields, not headings."""
    page = (site / 'reference.html').read_text(encoding='utf-8')
    names = re.findall(r'<span class="sig-name descname"><span class="pre">([^<]+)</span>', page)
    for name in ['function', 'Function', '__call__', 'specialize', 'grad', 'Computation',
                 'CompositeComputation', 'UnsafeInplaceError', 'AssumptionError']:
        assert name in names, name
    prenamed = re.findall(r'<span class="pre">computations\.</span></span>'
                          r'<span class="sig-name descname"><span class="pre">(\w+)<', page)
    assert {'function', 'Function', 'grad'} <= set(prenamed), prenamed
    assert not {'GEMM', 'POSV', 'inplace_compile', 'execute', 'Specialization'} & set(names)
    assert '>Parameters<' in page and '>Returns<' in page
    index = (site / 'index.html').read_text(encoding='utf-8')
    assert 'href="reference.html"' in index and 'href="supported.html"' in index


def test_figures_and_pictures_are_in_the_site(site):
    images = {path.name for path in (site / '_images').iterdir()}
    assert {'suite.png', 'minmax.svg'} <= images
    assert 'suite.png' in (site / 'benchmarks' / 'suite.html').read_text(encoding='utf-8')
    assert 'minmax.svg' in (site / 'tutorial.html').read_text(encoding='utf-8')


def test_the_notebooks_are_linked_not_built(site):
    tutorial = (site / 'tutorial.html').read_text(encoding='utf-8')
    for notebook in ('01-building-computations', '02-kalman-filter', '03-inplace-pass'):
        assert f'href="../notebooks/{notebook}.ipynb"' in tutorial, notebook
    assert not list(site.rglob('*.ipynb'))
