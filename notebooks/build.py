"""Build the notebooks' ``.ipynb`` files from their plain-text sources.

Each notebook ``NN-name`` is written as ``NN-name.py``, a jupytext script in
the percent format (``# %%`` starts a code cell, ``# %% [markdown]`` a
markdown cell), paired with the committed ``NN-name.ipynb``, which holds the
same cells with their outputs, so that it reads well on the code host.  Edit
the ``.py`` (or the ``.ipynb`` in a Jupyter that has jupytext installed,
which keeps both in sync); then rebuild::

    ./dev python notebooks/build.py                 # every notebook
    ./dev python notebooks/build.py 02              # one: a name, its number or part of it
    ./dev python notebooks/build.py --keep-outputs  # cells from the .py, outputs kept, not run
    ./dev python notebooks/build.py --list          # the names

A build reads the ``.py``, executes it with nbclient (kernel ``python3``,
working directory ``notebooks/``) and writes the ``.ipynb`` with its outputs.
``tests/test_notebooks.py`` checks every ``.ipynb`` holds the cells of its
``.py`` and executes it again (in memory, never rewriting it) with
:func:`execute`.

Outputs are kept as deterministic as is reasonable: random data is seeded,
cell ids are fixed, hash randomization is off in the kernel, and the
volatile timing metadata nbclient records is dropped.  Timings (and the
tables built from them) naturally change from one build to the next.
"""
import argparse
import os
import pathlib
import sys

import jupytext
import nbformat
from jupytext.combine import combine_inputs_with_outputs
from nbclient import NotebookClient

HERE = pathlib.Path(__file__).resolve().parent
KERNEL = 'python3'
TIMEOUT = 300          # seconds per cell
KERNELSPEC = {'name': KERNEL, 'display_name': 'Python 3 (ipykernel)', 'language': 'python'}
FORMATS = 'ipynb,py:percent'   # the pairing jupytext keeps in sync
SOURCES = '[0-9][0-9]-*.py'    # the notebooks' sources: NN-name.py

#: The notebooks' names (``NN-name``), in order.
NOTEBOOKS = sorted(path.stem for path in HERE.glob(SOURCES))


def path_of(name):
    """The ``.ipynb`` file of notebook ``name``."""
    return HERE / f'{name}.ipynb'


def source_of(name):
    """The ``.py`` file (jupytext, percent format) of notebook ``name``."""
    return HERE / f'{name}.py'


def cells_of(nb):
    """The ``(cell_type, source)`` pairs of ``nb``: what the ``.py`` and ``.ipynb`` share."""
    return [(cell.cell_type, cell.source) for cell in nb.cells]


def make(name):
    """Notebook ``name`` read from its ``.py``, not executed: fixed cell ids and metadata."""
    nb = jupytext.read(source_of(name))
    return normalise(nb, {'name': 'python'})


def normalise(nb, language_info):
    """Give ``nb`` fixed cell ids and the notebooks' metadata (in place); return it."""
    for i, cell in enumerate(nb.cells):
        cell['id'] = f'cell-{i:02d}'
    nb.nbformat, nb.nbformat_minor = 4, 5
    nb.metadata = nbformat.from_dict({'jupytext': {'formats': FORMATS},
                                      'kernelspec': dict(KERNELSPEC),
                                      'language_info': language_info})
    return nb


def execute(nb, cwd=HERE, timeout=TIMEOUT):
    """Run every cell of ``nb`` (in place) in a fresh kernel started in ``cwd``; return it.

    Raises :class:`nbclient.exceptions.CellExecutionError` on the first cell
    that fails.
    """
    client = NotebookClient(nb, timeout=timeout, kernel_name=KERNEL, record_timing=False,
                            coalesce_streams=True, resources={'metadata': {'path': str(cwd)}})
    client.execute(env={**os.environ, 'PYTHONHASHSEED': '0'})
    return tidy(nb)


def tidy(nb):
    """Drop volatile metadata (execution timings) from ``nb``; return it."""
    for cell in nb.cells:
        cell.metadata.pop('execution', None)
        if cell.cell_type == 'code':
            for output in cell.outputs:
                output.get('metadata', {}).pop('execution', None)
    return nb


def keep_outputs(name):
    """Notebook ``name``: the cells of its ``.py`` with the committed outputs of unchanged cells."""
    committed = nbformat.read(path_of(name), as_version=4)
    nb = combine_inputs_with_outputs(jupytext.read(source_of(name)), committed, fmt='py:percent')
    return normalise(nb, committed.metadata.get('language_info', {'name': 'python'}))


def build(name, run=True):
    """Write notebook ``name``'s ``.ipynb`` from its ``.py``, executed if ``run``; return its path."""
    nb = execute(make(name)) if run else keep_outputs(name)
    nbformat.validate(nb)
    path = path_of(name)
    nbformat.write(nb, path)
    return path


def resolve(spec):
    """The notebook name ``spec`` means: a name, a file name, or a unique part of a name."""
    spec = pathlib.Path(spec).name.removesuffix('.ipynb').removesuffix('.py')
    if spec in NOTEBOOKS:
        return spec
    matches = [name for name in NOTEBOOKS if spec in name]
    if len(matches) != 1:
        raise SystemExit(f'build.py: {spec!r} names {"no" if not matches else "more than one"} '
                         f'notebook; choose from {", ".join(NOTEBOOKS)}')
    return matches[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('names', nargs='*', help='notebooks to build (default: all)')
    parser.add_argument('--keep-outputs', action='store_true',
                        help="do not execute: take the cells from the .py and keep the committed "
                             "outputs of the cells that did not change")
    parser.add_argument('--list', action='store_true', help='list the notebooks and exit')
    options = parser.parse_args(argv)
    if options.list:
        print('\n'.join(NOTEBOOKS))
        return 0
    names = [resolve(spec) for spec in options.names] or NOTEBOOKS
    for name in names:
        path = build(name, run=not options.keep_outputs)
        print(f'wrote {path.relative_to(HERE.parent)} ({path.stat().st_size / 1024:.0f} KiB)',
              flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
