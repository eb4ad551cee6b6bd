"""Side by side: the per-call benchmarks of two checkouts, run alternately, medians compared.

A restructuring must not cost speed; this measures it on this shared, noisy
machine by alternating the two trees' runs (``./dev bench overhead`` and
``./dev bench suite --quick --repeat 3`` in each) and comparing medians.
Make the other tree with ``git worktree add /tmp/base <commit>``; its
``./dev`` sets up its own environment on first use.

Run: ``./dev python benchmarks/compare_trees.py /tmp/base . [--rounds 7]``.
"""
import argparse
import collections
import re
import statistics
import subprocess
import tempfile


def figures(tree, out):
    """The figures one run of each benchmark prints in ``tree``: ``{name: value}``."""
    found = {}
    text = subprocess.run(['./dev', 'bench', 'overhead'], cwd=tree, capture_output=True,
                          text=True, check=True).stdout
    for name in ('generated', 'hand', 'interpreter'):
        found[f'overhead {name} (µs/call)'] = float(
            re.search(rf'{name}:\s+([\d.]+) µs per call', text).group(1))
    text = subprocess.run(['./dev', 'bench', 'suite', '--quick', '--repeat', '3', '--out', out],
                          cwd=tree, capture_output=True, text=True, check=True).stdout
    for line in text.splitlines():
        row = re.match(r'(\w+)\s+(n=\S+ \S+)\s+(computed|scipy_hand)\s+([\d.e+-]+)\s', line)
        if row:
            found[f'suite {row[1]} {row[2]} {row[3]} (µs)'] = float(row[4]) * 1e6
        setup = re.match(r'setup (\w+) at .*: computed ([\d.]+) s', line)
        if setup:
            found[f'compile {setup[1]} (s)'] = float(setup[2])
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('before')
    parser.add_argument('after')
    parser.add_argument('--rounds', type=int, default=7)
    args = parser.parse_args()
    trees = {'before': args.before, 'after': args.after}
    samples = collections.defaultdict(lambda: collections.defaultdict(list))
    with tempfile.TemporaryDirectory() as scratch:
        for r in range(args.rounds):
            labels = list(trees) if r % 2 == 0 else list(reversed(trees))
            for label in labels:
                for name, value in figures(trees[label], f'{scratch}/{label}').items():
                    samples[name][label].append(value)
            print(f'round {r + 1} of {args.rounds}', flush=True)
    print(f'\n{"figure (median)":55} {"before":>10} {"after":>10} {"after/before":>12}')
    for name, by in samples.items():
        before, after = statistics.median(by['before']), statistics.median(by['after'])
        print(f'{name:55} {before:10.4g} {after:10.4g} {after / before:12.2f}')


if __name__ == '__main__':
    main()
