"""Random matrix problems with the kernels the compiler must and must not choose.

The problems come from the testing kit, :func:`computations.testing.matrix_problems`
(expressions, assumptions, data).  Here each is given what the compiler tests
expect of it: ``expected``, a set of frozensets of op names (one of each must
appear: the solve each ``Inverse`` calls for), and ``forbidden``, a frozenset of
op names that must not.

>>> import numpy as np
>>> from hypothesis import find, settings
>>> p = find(problems(), lambda p: any(e.has(sympy.Inverse) for e in p.outputs),
...          settings=settings(database=None, derandomize=True))
>>> p.expected <= {SPD_SOLVES, TRIANGULAR_SOLVES, GENERAL_SOLVES} and len(p.expected) == 1
True
"""
import dataclasses

import sympy
from sympy import Identity, MatrixSymbol, Transpose

from computations.testing.expressions import (KINDS, MatrixProblem, _is_inverse, _walk,
                                              matrix_problems, structure_errors,
                                              symmetric_canonical)

__all__ = ['Problem', 'problems', 'structure_errors', 'explicit_inverses', 'op_names',
           'inverse_class', 'inverse_classes', 'expectations', 'symmetric_canonical',
           'SPD_SOLVES', 'TRIANGULAR_SOLVES', 'GENERAL_SOLVES', 'SOLVE_OPS', 'KINDS']

#: At least one of each must appear for an inverse of that class.
SPD_SOLVES = frozenset({'POSV', 'POTRF'})
TRIANGULAR_SOLVES = frozenset({'TRSM', 'TRTRS'})
GENERAL_SOLVES = frozenset({'GESV', 'GETRF'})
#: The operations that solve ``op(A).I*B``; with ``B`` an Identity they form an explicit inverse.
SOLVE_OPS = frozenset({'POSV', 'POTRS', 'GESV', 'GETRS', 'TRSM', 'TRTRS'})

_EXPECTED = {'spd': SPD_SOLVES, 'triangular': TRIANGULAR_SOLVES, 'general': GENERAL_SOLVES}
_FAMILY_OPS = {'spd': frozenset({'POSV', 'POTRF', 'POTRS'}),
               'general': frozenset({'GESV', 'GETRF', 'GETRS'}),
               'any': frozenset({'TRSM', 'TRTRS'})}


@dataclasses.dataclass(frozen=True, eq=False)
class Problem(MatrixProblem):
    """A :class:`~computations.testing.MatrixProblem` with the kernels expected of it."""
    expected: frozenset = frozenset()
    forbidden: frozenset = frozenset()

    def __repr__(self):
        return (f'Problem(inputs={self.inputs!r}, outputs={self.outputs!r}, '
                f'assumptions={self.assumptions!r}, dims={self.dims!r}, '
                f'expected={sorted(map(sorted, self.expected))!r}, '
                f'forbidden={sorted(self.forbidden)!r})')


def problems(symbolic=None, max_outputs=2):
    """The kit's random matrix problems, each with ``expected`` and ``forbidden`` kernels."""
    return matrix_problems(symbolic=symbolic, max_outputs=max_outputs).map(_with_expectations)


def _with_expectations(problem):
    expected, forbidden = expectations(problem.outputs, problem.kinds,
                                       symmetric_canonical(problem.outputs, problem.kinds))
    fields = {f.name: getattr(problem, f.name) for f in dataclasses.fields(MatrixProblem)}
    return Problem(**fields, expected=expected, forbidden=forbidden)


def inverse_class(inverse, kinds):
    """``'spd'``, ``'triangular'`` or ``'general'``: which solve an inverse calls for.

    ``inverse`` is an Inverse or a negative MatPow.
    """
    arg = inverse.args[0]
    base = arg.arg if isinstance(arg, Transpose) else arg
    if isinstance(base, MatrixSymbol):
        return {'spd': 'spd', 'lower': 'triangular', 'upper': 'triangular',
                'invertible': 'general'}[kinds[base]]
    return 'spd'                               # every compound inverse argument is SPD


def inverse_classes(outputs, kinds):
    """The classes (see :func:`inverse_class`) of every inverse in the outputs."""
    return {inverse_class(node, kinds)
            for out in outputs for node, _ in _walk(out) if _is_inverse(node)}


def expectations(outputs, kinds, canonical=None):
    """``(expected, forbidden)`` kernel names for these outputs.

    With ``canonical`` (see :func:`symmetric_canonical`), a kernel family is
    expected only when both forms need it, and forbidden only when neither does.
    """
    raw = inverse_classes(outputs, kinds)
    other = raw if canonical is None else inverse_classes(canonical, kinds)
    expected = frozenset(_EXPECTED[c] for c in raw & other)
    either = raw | other
    forbidden = set()
    if 'general' not in either:
        forbidden |= _FAMILY_OPS['general']
    if 'spd' not in either:
        forbidden |= _FAMILY_OPS['spd']
    if not either:
        forbidden |= _FAMILY_OPS['any']
    return expected, frozenset(forbidden)


def op_names(computation):
    """The class names of a computation's operations."""
    return {type(op).__name__ for op in computation.toposort()}


def explicit_inverses(computation):
    """The operations forming an inverse: solves whose right-hand side ``B`` is an
    Identity, and POTRI."""
    return [op for op in computation.toposort() if type(op).__name__ == 'POTRI' or (
        type(op).__name__ in SOLVE_OPS and isinstance(getattr(op, 'B', None), Identity))]
