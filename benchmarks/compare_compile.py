"""Side by side: the Kalman filter's compile time in two checkouts, processes alternating.

The figure is the one ``bench_compile.py`` reports as *after one shape*: the
CPU time of ``f.specialize`` at a new ``(n, k)``, the function made and
specialized once to a small shape first, SymPy's cache cleared.  A change to
the compiler is measured against the tree before it on this shared, noisy
machine by running the two trees' processes in turn (each process takes
``--samples`` samples per shape) and comparing medians.  Make the other tree
with ``git worktree add /tmp/base <commit>``; both run on this checkout's
Python, each importing its own ``computations`` (``PYTHONPATH``) and its own
``computations.schedulers`` and ``computations.inplace``, which the editable
install maps to this checkout's folders whatever ``PYTHONPATH`` says
(:func:`use_tree`).

Run: ``./dev python benchmarks/compare_compile.py /tmp/base . [--rounds 12]``.
"""
import argparse
import collections
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

#: The shapes compared: small, k << n, k close to n, and n = k.
SHAPES = ((50, 5), (1000, 100), (1000, 700), (2000, 1000), (1000, 1000))


def measure(shapes, samples):
    """``{"n,k": [seconds, ...]}`` in this process (the tree on ``sys.path``)."""
    import computations
    from sympy.core.cache import clear_cache
    from bench_compile import _kalman_shapes, kalman
    inputs, outputs, assumptions = kalman()
    found = {}
    for n, k in shapes:
        times = []
        for i in range(samples):
            f = computations.function(inputs, outputs, assumptions)
            f.specialize(*_kalman_shapes(4 + i, 2))       # another shape first
            clear_cache()
            start = time.process_time()
            f.specialize(*_kalman_shapes(n, k))
            times.append(time.process_time() - start)
        found[f'{n},{k}'] = times
    return found


def use_tree(tree):
    """Import ``computations.schedulers`` and ``computations.inplace`` from ``tree``'s
    ``schedulers/`` and ``inplace/`` folders (the editable install's finder maps them to
    the installed checkout, so a tree on ``PYTHONPATH`` alone ran its own ``computations``
    with this checkout's lower layers)."""
    import importlib.abc
    import importlib.util
    tree = pathlib.Path(tree).resolve()

    class Folders(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            folder = {'computations.schedulers': 'schedulers',
                      'computations.inplace': 'inplace'}.get(name)
            if folder is None:
                return None                # submodules: found on the package's __path__
            return importlib.util.spec_from_file_location(
                name, tree / folder / '__init__.py',
                submodule_search_locations=[str(tree / folder)])

    sys.meta_path.insert(0, Folders())


def run_tree(tree, samples):
    """One process of ``tree``'s ``computations`` measuring every shape."""
    tree = pathlib.Path(tree).resolve()
    env = {**os.environ, 'PYTHONPATH': f'{tree}{os.pathsep}{tree / "benchmarks"}'}
    out = subprocess.run([sys.executable, __file__, '--worker', '--samples', str(samples)],
                         cwd=tree, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('before', nargs='?')
    parser.add_argument('after', nargs='?')
    parser.add_argument('--rounds', type=int, default=12)
    parser.add_argument('--samples', type=int, default=3)
    parser.add_argument('--worker', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        use_tree(os.getcwd())
        import computations.schedulers
        assert pathlib.Path(computations.schedulers.__file__).parent == \
            pathlib.Path('schedulers').resolve(), computations.schedulers.__file__
        print(json.dumps(measure(SHAPES, args.samples)))
        return
    trees = {'before': args.before, 'after': args.after}
    samples = collections.defaultdict(lambda: collections.defaultdict(list))
    for r in range(args.rounds):
        for label in (list(trees) if r % 2 == 0 else list(reversed(trees))):
            for shape, times in run_tree(trees[label], args.samples).items():
                samples[shape][label] += times
        print(f'round {r + 1} of {args.rounds}', flush=True)
    print(f'\n{"Kalman (n, k)":15} {"before (ms)":>12} {"after (ms)":>12} {"after/before":>13}')
    for shape, by in samples.items():
        before, after = statistics.median(by['before']), statistics.median(by['after'])
        print(f'({shape}){"":{13 - len(shape)}} {before * 1e3:12.1f} {after * 1e3:12.1f} '
              f'{after / before:13.2f}')


if __name__ == '__main__':
    main()
