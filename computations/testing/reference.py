"""A plain NumPy evaluator of SymPy matrix expressions: the independent reference.

It knows nothing of BLAS/LAPACK or of this library's operations: products
are ``@``, inverses :func:`numpy.linalg.inv`, Cholesky factors
:func:`numpy.linalg.cholesky`, traces :func:`numpy.trace`, determinants
:func:`numpy.linalg.det`.  It is deliberately naive (it forms explicit
inverses), so that it shares no code, and no mistake, with the compiler.

>>> import numpy as np, sympy
>>> A, x = sympy.MatrixSymbol('A', 2, 2), sympy.MatrixSymbol('x', 2, 1)
>>> evaluate(A.I * x, {A: [[2., 0.], [0., 4.]], x: [[1.], [1.]]})
array([[0.5 ],
       [0.25]])
"""
import numpy as np
import sympy
from sympy import (Determinant, Identity as Eye, Inverse, MatAdd, MatMul, MatPow, MatrixSymbol,
                   OneMatrix, Trace, Transpose, ZeroMatrix)
from sympy.matrices.expressions.factorizations import LofCholesky
from sympy.matrices.expressions.matexpr import MatrixElement

from computations.matrices import SymmetricLower

__all__ = ['evaluate', 'magnitude', 'rounding', 'relative_error', 'ROUNDING_UNITS']

#: Scalars of matrices, and how to compute them from the matrix.
SCALARS = {Trace: lambda m, expr: np.trace(m),
           Determinant: lambda m, expr: np.linalg.det(m),
           MatrixElement: lambda m, expr: m[int(expr.i), int(expr.j)]}


def evaluate(expr, values):
    """The value of ``expr`` given ``{variable: array or float}``, in float64.

    Matrix expressions give 2-D arrays, scalar expressions floats.  Shapes
    must be numbers (substitute symbolic dimensions first).  A variable
    without a value raises ``KeyError`` naming it; a matrix value whose shape
    is not its symbol's, ``ValueError`` naming both (NumPy's broadcasting
    would otherwise hide it); an expression the evaluator does not know,
    ``NotImplementedError`` naming its type.

    >>> X = sympy.MatrixSymbol('X', 2, 2)
    >>> evaluate(sympy.Trace(X.T * X) + 1, {X: np.eye(2)})
    3.0
    >>> evaluate(X * sympy.MatrixSymbol('Y', 2, 2), {X: np.eye(2)})
    Traceback (most recent call last):
        ...
    KeyError: 'no value for Y'
    >>> evaluate(X, {X: np.ones((2, 1))})
    Traceback (most recent call last):
        ...
    ValueError: the value of X has shape (2, 1), its symbol 2 x 2
    """
    if expr in values:
        value = values[expr]
        if not isinstance(expr, sympy.MatrixExpr):
            return float(value)
        value = np.asarray(value, dtype=float)
        shape = tuple(int(d) if d.is_Integer else None for d in map(sympy.sympify, expr.shape))
        if value.ndim != 2 or any(d is not None and d != v for d, v in zip(shape, value.shape)):
            raise ValueError(f'the value of {expr} has shape {value.shape}, its symbol '
                             f'{expr.shape[0]} x {expr.shape[1]}')
        return value
    if isinstance(expr, (MatrixSymbol, sympy.Symbol)):
        raise KeyError(f'no value for {expr}')
    if type(expr) in SCALARS:
        matrix = expr.parent if isinstance(expr, MatrixElement) else expr.arg
        return float(SCALARS[type(expr)](evaluate(matrix, values), expr))
    if isinstance(expr, sympy.Expr) and not isinstance(expr, sympy.MatrixExpr):
        atoms = expr.atoms(*SCALARS)
        known = {k: v for k, v in values.items() if not isinstance(k, sympy.MatrixExpr)}
        known.update({atom: sympy.Float(evaluate(atom, values)) for atom in atoms})
        result = expr.xreplace({k: sympy.Float(v) for k, v in known.items()})
        missing = result.free_symbols
        if missing:
            raise KeyError(f'no value for {", ".join(sorted(map(str, missing)))}')
        return float(result)
    if isinstance(expr, MatMul):
        return _product(evaluate(arg, values) for arg in expr.args)
    if isinstance(expr, MatAdd):
        return sum(evaluate(arg, values) for arg in expr.args)
    if isinstance(expr, Transpose):
        return evaluate(expr.arg, values).T
    if isinstance(expr, Inverse):
        return np.linalg.inv(evaluate(expr.arg, values))
    if isinstance(expr, MatPow):
        if not expr.exp.is_Integer:
            raise NotImplementedError(f'the reference evaluator knows integer powers only, '
                                      f'not {expr}')
        return np.linalg.matrix_power(evaluate(expr.base, values), int(expr.exp))
    if isinstance(expr, SymmetricLower):
        lower = np.tril(evaluate(expr.arg, values))
        return lower + np.tril(lower, -1).T
    if isinstance(expr, LofCholesky):
        return np.linalg.cholesky(evaluate(expr.arg, values))
    if isinstance(expr, ZeroMatrix):
        return np.zeros(tuple(map(int, expr.shape)))
    if isinstance(expr, OneMatrix):
        return np.ones(tuple(map(int, expr.shape)))
    if isinstance(expr, Eye):
        return np.eye(int(expr.shape[0]))
    raise NotImplementedError(f'the reference evaluator does not know {type(expr).__name__}')


def _product(factors):
    """The product of scalars and matrices, left to right (``@`` between matrices)."""
    result = 1.0
    for value in factors:
        result = result * value if np.ndim(value) == 0 or np.ndim(result) == 0 \
            else result @ value
    return result


def magnitude(expr, values):
    """A bound on the size of what ``expr`` adds up: the scale of its rounding errors.

    Sums add the magnitudes of their terms and products multiply them
    (``|a| @ |b|``), so a result that cancels to about zero keeps the size of
    the terms that cancelled; anything else (an inverse, a factor, a scalar
    function) is the absolute value of its :func:`evaluate`, but for traces (the
    trace of the magnitude), determinants (their first-order sensitivity to each
    entry) and logarithms (the relative error of their argument).  A computed
    result has a forward error of about ``eps * magnitude``, whatever order
    of operations produced it, where ``eps * |value|`` can be far smaller.

    >>> x, y = sympy.MatrixSymbol('x', 2, 1), sympy.MatrixSymbol('y', 2, 1)
    >>> values = {x: [[1.], [2.]], y: [[-1.], [-2.]]}
    >>> evaluate(x + y, values).ravel().tolist(), magnitude(x + y, values).ravel().tolist()
    ([0.0, 0.0], [2.0, 4.0])
    """
    if expr in values or isinstance(expr, (MatrixSymbol, sympy.Symbol)):
        return np.abs(evaluate(expr, values))
    if isinstance(expr, (MatAdd, sympy.Add)):
        return sum(magnitude(arg, values) for arg in expr.args)
    if isinstance(expr, (MatMul, sympy.Mul)):
        return _product(magnitude(arg, values) for arg in expr.args)
    if isinstance(expr, Transpose):
        return magnitude(expr.arg, values).T
    if isinstance(expr, MatPow) and expr.exp.is_Integer and expr.exp > 0:
        return np.linalg.matrix_power(magnitude(expr.base, values), int(expr.exp))
    if isinstance(expr, Trace):
        return float(np.trace(magnitude(expr.arg, values)))
    if isinstance(expr, Determinant):
        return _determinant_magnitude(evaluate(expr.arg, values), magnitude(expr.arg, values))
    if isinstance(expr, sympy.log):
        value = abs(evaluate(expr.args[0], values))
        return abs(np.log(value)) + (magnitude(expr.args[0], values) / value if value
                                     else np.inf)
    return np.abs(evaluate(expr, values))


def _determinant_magnitude(matrix, size):
    """How far ``det(matrix)`` moves when each entry moves by its ``size`` relative to
    roundoff: ``|det| (n + sum(|matrix^-T| * size))`` to first order (the pivots'
    own rounding, and ``d det = det tr(matrix^-1 d matrix)``); for a singular matrix,
    Hadamard's bound ``n prod(column norms of size)``."""
    n = matrix.shape[0]
    determinant = np.linalg.det(matrix)
    if determinant:
        try:
            inverse = np.linalg.inv(matrix)
        except np.linalg.LinAlgError:
            pass
        else:
            if np.all(np.isfinite(inverse)):
                return float(abs(determinant) * (n + np.sum(np.abs(inverse.T) * size)))
    return float(n * np.prod(np.linalg.norm(size, axis=0)))


#: Units of roundoff per unit of an expression's magnitude that :func:`rounding` allows: an
#: evaluation of some hundreds of operations, in any order, stays within it.
ROUNDING_UNITS = 1000


def rounding(expr, values, dtype=np.float64):
    """The error rounding may leave in a computed value of ``expr``, whatever the order of
    its operations: :data:`ROUNDING_UNITS` units of roundoff of ``dtype`` times the
    Frobenius norm of its :func:`magnitude`.  Large where a result cancels: ``x + y``
    with ``y = -x`` is exactly 0 in NumPy, and anything up to this from another order.

    >>> x, y = sympy.MatrixSymbol('x', 2, 1), sympy.MatrixSymbol('y', 2, 1)
    >>> values = {x: [[3.], [4.]], y: [[-3.], [-4.]]}
    >>> rounding(x + y, values) == 1000 * float(np.finfo(float).eps) * 10
    True
    """
    return ROUNDING_UNITS * float(np.finfo(dtype).eps) * float(
        np.linalg.norm(magnitude(expr, values)))


def relative_error(got, expected, rounding=0.0):
    """Frobenius-norm relative error (absolute when the expected value is zero) of what
    exceeds ``rounding``, an absolute error rounding explains (:func:`rounding`): a result
    that cancels to about zero is right when it is within that, and a wrong one is
    judged as without it.  A NaN or an infinity must be matched by the same at the same
    place (the error is then that of the finite entries), else the error is infinite
    (never NaN, which every comparison, and ``max``, would pass over).

    >>> relative_error([[1.0, 2.0]], [[1.0, 2.0 + 1e-9]]) < 1e-9
    True
    >>> relative_error([[1e-16]], [[0.0]]), relative_error([[1e-16]], [[0.0]], 1e-13)
    (1e-16, 0.0)
    >>> relative_error([[np.nan, 1.0]], [[1.0, 1.0]]), relative_error([[np.inf, 1.0]], [[np.inf, 1.0]])
    (inf, 0.0)
    >>> relative_error([1.0], [[1.0]])
    Traceback (most recent call last):
        ...
    ValueError: shapes differ: got (1,), expected (1, 1)
    """
    if np.iscomplexobj(got) or np.iscomplexobj(expected):
        raise ValueError('relative_error compares real arrays; got a complex one (its '
                         'imaginary part would be dropped)')
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    if got.shape != expected.shape:
        raise ValueError(f'shapes differ: got {got.shape}, expected {expected.shape}')
    finite = np.isfinite(expected)
    if not np.all(finite):
        if not (np.array_equal(got[~finite], expected[~finite], equal_nan=True)
                and np.all(np.isfinite(got[finite]))):
            return float('inf')
        got, expected = got[finite], expected[finite]
    elif not np.all(np.isfinite(got)):
        return float('inf')
    scale = np.linalg.norm(expected)
    error = max(float(np.linalg.norm(got - expected)) - rounding, 0.0)
    return float(error / (scale if scale else 1.0))
