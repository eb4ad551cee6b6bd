"""``--tree PATH``: a benchmark script measures another checkout (an older commit).

A worktree of the older commit (``git worktree add /tmp/base <commit>``) on
``PYTHONPATH`` alone runs its own ``computations`` with this checkout's
``computations.schedulers`` and ``computations.inplace`` (the editable
install maps those two to this checkout's folders).  :func:`switch`, called
at the top of a script before anything imports ``computations``, puts the
tree first on ``sys.path`` and maps those two packages to its folders
(:func:`compare_compile.use_tree`).  Run, e.g.: ``./dev bench call_forms
--tree /tmp/base``.
"""
import os
import sys

__all__ = ['switch']


def switch(argv=None):
    """Use the checkout ``--tree`` names in ``argv`` (default ``sys.argv``), if any; return
    its path, or None."""
    argv = sys.argv if argv is None else argv
    if '--tree' not in argv:
        return None
    tree = os.path.abspath(argv[argv.index('--tree') + 1])
    if 'computations' in sys.modules:
        raise RuntimeError('--tree: computations is imported already; call switch() first')
    sys.path.insert(0, tree)
    from compare_compile import use_tree
    use_tree(tree)
    return tree
