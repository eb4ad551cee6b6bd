"""What a caller may give up: the ``donate`` lists of the inplace pass and the runners.

A caller's inputs are protected (never overwritten) unless donated.  Two readings of a
``donate`` list, one per layer, both here so that they cannot drift apart:

- the runners and the front door (:func:`check_donate`): every entry is a matrix input
  of the program or its name; anything else is the caller's mistake and raises
  :class:`DonateError` naming it;
- the inplace pass (:func:`donated`), which also serves parts of a program (a block, a
  kernel) with the whole program's list: a value that is not an input of *this*
  computation, or a scalar, donates nothing there; a *name*, which can only mean one of
  its inputs, must be one (a misspelt ``donate=['Sigma ']`` donated nothing and the
  program silently copied every input it could have overwritten).
"""
import sympy

from computations import ComputationsError

__all__ = ['DonateError', 'check_donate', 'donated', 'is_constant']


def is_constant(expr):
    """Whether a value is a constant (never overwritten): a number, a zero or identity matrix.

    >>> is_constant(sympy.ZeroMatrix(2, 2)), is_constant(sympy.MatrixSymbol('A', 2, 2))
    (True, False)
    """
    if isinstance(expr, (sympy.ZeroMatrix, sympy.Identity, sympy.OneMatrix)):
        return True
    return isinstance(expr, sympy.Expr) and not isinstance(expr, sympy.MatrixExpr) \
        and expr.is_number


class DonateError(ComputationsError, ValueError):
    """A ``donate`` entry that is not a matrix input the caller can give up.

    >>> str(DonateError('X', 'is not an input (inputs: A, B)'))
    'donate: X is not an input (inputs: A, B)'
    """

    def __init__(self, entry, why):
        self.entry = entry
        super().__init__(f'donate: {entry} {why}')


def _entries(donate):
    return [donate] if isinstance(donate, (str, sympy.Basic)) else list(donate)


def _names(inputs):
    return {str(var): var for var in inputs}


def _not_an_input(entry, by_name):
    return DonateError(entry, f'is not an input of the computation (inputs: '
                              f'{", ".join(by_name) or "none"})')


def check_donate(donate, inputs):
    """``donate`` (inputs or their names) as a tuple of matrix inputs among ``inputs``;
    :class:`DonateError` naming the first entry that is not one.

    >>> A, x = sympy.MatrixSymbol('A', 2, 2), sympy.Symbol('x')
    >>> check_donate(['A'], [A, x])
    (A,)
    >>> check_donate([x], [A, x])
    Traceback (most recent call last):
    ...
    computations.inplace.donate.DonateError: donate: x is a scalar: only matrix inputs can be donated
    """
    inputs = tuple(inputs)
    by_name = _names(inputs)
    checked = []
    for entry in _entries(donate):
        var = by_name.get(entry) if isinstance(entry, str) else entry if entry in inputs \
            else None
        if var is None:
            raise _not_an_input(entry, by_name)
        if not isinstance(var, sympy.MatrixExpr) or is_constant(var):
            raise DonateError(entry, 'is a scalar: only matrix inputs can be donated')
        if var not in checked:
            checked.append(var)
    return tuple(checked)


def donated(donate, inputs):
    """The values the inplace pass may overwrite, of a computation whose inputs are
    ``inputs``: each entry of ``donate`` as it is (a value that is not one of ``inputs``,
    or a scalar, has no effect there), a name replaced by the input it names.  A name that
    is no input's (nor a hand-built computation's variable: any hashable is one) raises
    :class:`DonateError`.

    >>> A, B = sympy.MatrixSymbol('A', 2, 2), sympy.MatrixSymbol('B', 2, 2)
    >>> sorted(map(str, donated(['A', B], [A])))     # B: an input elsewhere, no effect here
    ['A', 'B']
    >>> donated(['y'], ['y', 'z'])                   # hand-built: 'y' is the variable
    frozenset({'y'})
    >>> donated(['Sigma '], [A])
    Traceback (most recent call last):
    ...
    computations.inplace.donate.DonateError: donate: Sigma  is not an input of the computation (inputs: A)
    """
    inputs = tuple(inputs)
    by_name = _names(inputs)
    values = set()
    for entry in _entries(donate):
        if isinstance(entry, str) and entry not in inputs:
            if entry not in by_name:
                raise _not_an_input(entry, by_name)
            entry = by_name[entry]
        values.add(entry)
    return frozenset(values)
