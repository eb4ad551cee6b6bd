"""What a caller may give up: the ``donate`` lists of the inplace pass and the runners.

A caller's inputs are protected (never overwritten) unless donated.  A
``donate`` entry is an input or its name; :func:`check_donate` turns a list
of them into the matrix inputs they mean, or names the first entry that is
none, so that every layer reads one normalized list (a name that matched no
input, silently donating nothing, was one layer's behaviour and not
another's).
"""
import sympy

from computations import ComputationsError

from .check import is_constant

__all__ = ['DonateError', 'check_donate']


class DonateError(ComputationsError, ValueError):
    """A ``donate`` entry that is not a matrix input the caller can give up.

    >>> str(DonateError('X', 'is not an input (inputs: A, B)'))
    'donate: X is not an input (inputs: A, B)'
    """

    def __init__(self, entry, why):
        self.entry = entry
        super().__init__(f'donate: {entry} {why}')


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
    >>> check_donate(['y'], ['y', 'z'])          # hand-built: any hashable is a variable
    ('y',)
    """
    if isinstance(donate, (str, sympy.Basic)):
        donate = [donate]
    inputs = tuple(inputs)
    by_name = {str(var): var for var in inputs}
    checked = []
    for entry in donate:
        var = by_name.get(entry) if isinstance(entry, str) else entry if entry in inputs \
            else None
        if var is None:
            raise DonateError(entry, f'is not an input of the computation (inputs: '
                                     f'{", ".join(by_name) or "none"})')
        if is_constant(var):
            raise DonateError(entry, 'is a constant the program makes: only the caller\'s '
                                     'inputs can be donated')
        if isinstance(var, sympy.Basic) and not isinstance(var, sympy.MatrixExpr):
            # (a variable of another kind, as 'x' in a hand-built computation, may be any value)
            raise DonateError(entry, 'is a scalar: only matrix inputs can be donated')
        if var not in checked:
            checked.append(var)
    return tuple(checked)
