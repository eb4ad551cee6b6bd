"""The notebooks run, and are committed executed and up to date with notebooks/build.py.

``notebooks/build.py`` is the single source of truth for the notebooks: it
defines their cells, executes them and writes the ``.ipynb`` files with
their outputs.  These tests execute every committed notebook again, in
memory (the committed file is never rewritten), with the same settings, and
fail on any error, so the notebooks never rot.  They also check that each
committed notebook is valid nbformat, holds exactly the cells build.py
defines (so an edit to build.py without a rebuild fails), and was committed
executed: every code cell that produces output has its output saved.

Rebuild after a change: ``./dev python notebooks/build.py``.
"""
import copy
import importlib.util
import pathlib

import nbformat
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / 'notebooks'
REBUILD = './dev python notebooks/build.py'


def _load_build():
    spec = importlib.util.spec_from_file_location('notebooks_build', NOTEBOOKS / 'build.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _load_build()


def setup_module():
    """Build matplotlib's font cache in this process: the first import on a machine writes
    "building the font cache" to stderr, which would fail a notebook that plots."""
    import matplotlib.font_manager  # noqa: F401
COMMITTED = sorted(path.stem for path in NOTEBOOKS.glob('*.ipynb'))
NAMES = sorted(set(build.NOTEBOOKS) | set(COMMITTED))


def _read(name):
    path = build.path_of(name)
    if not path.exists():
        pytest.fail(f'notebooks/build.py defines {name}, but {path.name} is not committed; '
                    f'run {REBUILD} {name}')
    return nbformat.read(path, as_version=4)


def _code_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == 'code']


@pytest.mark.parametrize('name', NAMES)
def test_notebook_is_valid_and_up_to_date(name):
    assert name in build.NOTEBOOKS, (f'notebooks/{name}.ipynb is not defined in '
                                     'notebooks/build.py (the source of truth): add it there '
                                     'or delete the file')
    nb = _read(name)
    nbformat.validate(nb)
    committed = [(cell.cell_type, cell.source) for cell in nb.cells]
    defined = [(cell.cell_type, cell.source) for cell in build.make(name).cells]
    assert committed == defined, (f'{name}.ipynb differs from the cells notebooks/build.py '
                                  f'defines: edit build.py, then run {REBUILD} {name}')
    counts = [cell.execution_count for cell in _code_cells(nb)]
    assert counts == list(range(1, len(counts) + 1)), (
        f'{name}.ipynb was not committed executed in one run (execution counts {counts}); '
        f'run {REBUILD} {name}')
    for cell in nb.cells:
        assert 'execution' not in cell.metadata, f'{name}.ipynb keeps volatile timing metadata'


@pytest.mark.parametrize('name', NAMES)
def test_notebook_runs(name):
    committed = _read(name)
    nb = build.execute(copy.deepcopy(committed))      # raises CellExecutionError on any error
    fresh, saved = _code_cells(nb), _code_cells(committed)
    assert len(fresh) == len(saved)
    for i, (new, old) in enumerate(zip(fresh, saved)):
        where = f'{name}.ipynb, code cell {i + 1}:\n{new.source}\n'
        kinds = [output.output_type for output in new.outputs]
        assert 'error' not in kinds, where
        stderr = [output.text for output in new.outputs
                  if output.output_type == 'stream' and output.name == 'stderr']
        assert not stderr, f'{where}wrote to stderr (a warning?):\n{"".join(stderr)}'
        if new.outputs:
            assert old.outputs, (f'{where}produces output, but the committed notebook has none: '
                                 f'run {REBUILD} {name}')
