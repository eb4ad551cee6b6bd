"""The notebooks run, and are committed executed and paired with their jupytext sources.

Every notebook ``notebooks/NN-name.ipynb`` has a plain-text source,
``notebooks/NN-name.py`` (jupytext, percent format), paired with it: the two
hold the same cells, and ``notebooks/build.py`` writes the ``.ipynb`` from
the ``.py`` with its outputs.  These tests find the notebooks by globbing
(a new notebook is picked up without changing them), execute every committed
notebook again, in memory (the committed file is never rewritten), with the
same settings, and fail on any error, so the notebooks never rot.  They also
check that each committed notebook is valid nbformat, declares its pairing,
holds exactly the cells of its ``.py`` (so an edit to the ``.py`` without a
rebuild fails), and was committed executed: every code cell that produces
output has its output saved.

Rebuild after a change: ``./dev python notebooks/build.py NN``.
"""
import copy
import importlib.util
import pathlib

import jupytext
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
        pytest.fail(f'notebooks/{name}.py has no paired {path.name}; run {REBUILD} {name}')
    return nbformat.read(path, as_version=4)


def _source(name):
    path = build.source_of(name)
    if not path.exists():
        pytest.fail(f'notebooks/{name}.ipynb has no paired plain-text source notebooks/{path.name} '
                    '(jupytext, percent format): write it with '
                    f'`jupytext --set-formats {build.FORMATS} notebooks/{name}.ipynb`, '
                    'or delete the .ipynb')
    return jupytext.read(path)


def _code_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == 'code']


def test_notebooks_are_found():
    """The glob finds the five notebooks the project has always had (and any new one)."""
    assert len(NAMES) >= 5
    assert build.NOTEBOOKS == sorted(build.NOTEBOOKS)
    assert all(name[:2].isdigit() for name in NAMES), NAMES


@pytest.mark.parametrize('name', NAMES)
def test_notebook_is_paired_and_up_to_date(name):
    source, nb = _source(name), _read(name)
    assert name in build.NOTEBOOKS, f'notebooks/{name}.py is not named NN-name.py'
    nbformat.validate(nb)
    for what, metadata in (('.py header', source.metadata), ('.ipynb metadata', nb.metadata)):
        formats = metadata.get('jupytext', {}).get('formats', '')
        assert set(build.FORMATS.split(',')) <= set(formats.split(',')), (
            f'the {what} of {name} does not pair it with jupytext (formats: {formats!r}, '
            f'want {build.FORMATS!r}); run {REBUILD} {name}')
    assert build.cells_of(nb) == build.cells_of(source), (
        f'{name}.ipynb holds other cells than {name}.py: edit the .py, then run '
        f'{REBUILD} {name} (or open the .ipynb in Jupyter with jupytext installed)')
    counts = [cell.execution_count for cell in _code_cells(nb)]
    assert counts == list(range(1, len(counts) + 1)), (
        f'{name}.ipynb was not committed executed in one run (execution counts {counts}); '
        f'run {REBUILD} {name}')
    for cell in nb.cells:
        assert 'execution' not in cell.metadata, f'{name}.ipynb keeps volatile timing metadata'


def test_keep_outputs_takes_the_cells_of_the_py_and_keeps_the_outputs(tmp_path, monkeypatch):
    """``build.py --keep-outputs`` after a prose edit to the .py: the .ipynb gets the new
    cells and keeps every committed output, without running anything."""
    name = build.NOTEBOOKS[0]
    committed = _read(name)
    text = build.source_of(name).read_text(encoding='utf-8')
    edited = text.replace('# %% [markdown]\n', '# %% [markdown]\n# A new first line.\n#\n', 1)
    assert edited != text
    (tmp_path / f'{name}.py').write_text(edited, encoding='utf-8')
    nbformat.write(committed, tmp_path / f'{name}.ipynb')
    monkeypatch.setattr(build, 'HERE', tmp_path)
    nb = nbformat.read(build.build(name, run=False), as_version=4)
    assert build.cells_of(nb) == build.cells_of(jupytext.reads(edited, fmt='py:percent'))
    assert build.cells_of(nb) != build.cells_of(committed)
    assert [(cell.outputs, cell.execution_count) for cell in _code_cells(nb)] == \
        [(cell.outputs, cell.execution_count) for cell in _code_cells(committed)]
    assert nb.metadata.jupytext.formats == build.FORMATS


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
