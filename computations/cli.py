"""The command line: build an example computation, print it, draw it.

``python -m computations [EXAMPLE] [--svg PATH] [--png PATH] [--pdf PATH]``

>>> main(['minmax'])
inputs:  w, y
outputs: Min(x, y), Max(x, y)
program:
  x = A(w)
  Min(x, y), Max(x, y) = MinMax(x, y)
0
"""
import argparse
import sys

from .examples import EXAMPLES

__all__ = ['main']


def _parser():
    parser = argparse.ArgumentParser(
        prog='python -m computations',
        description='Build an example computation, print its program and draw it.')
    parser.add_argument('example', nargs='?', default='minmax', choices=sorted(EXAMPLES),
                        help='which example to build (default: %(default)s)')
    for fmt in ('svg', 'png', 'pdf'):
        parser.add_argument(f'--{fmt}', metavar='PATH',
                            help=f'write the picture as {fmt.upper()} to PATH')
    return parser


def main(argv=None):
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    args = _parser().parse_args(argv)
    comp = EXAMPLES[args.example]()
    print('inputs: ', ', '.join(map(str, comp.inputs)))
    print('outputs:', ', '.join(map(str, comp.outputs)))
    print('program:')
    for op in comp.toposort():
        print(' ', op)
    for fmt in ('svg', 'png', 'pdf'):
        path = getattr(args, fmt)
        if path:
            print(f'wrote {comp.write(path, format=fmt)}')
    return 0


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
