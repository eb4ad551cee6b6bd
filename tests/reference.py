"""A plain NumPy evaluator of SymPy matrix expressions: the tests' independent reference.

It knows nothing of BLAS/LAPACK or of this library's operations: products
are ``@``, inverses ``numpy.linalg.inv``, Cholesky factors
``numpy.linalg.cholesky``, traces ``numpy.trace``, determinants
``numpy.linalg.det`` (their logarithms ``log`` of that).
"""
import numpy as np
import sympy
from sympy import (Determinant, Inverse, MatAdd, MatMul, MatPow, MatrixSymbol, Trace, Transpose,
                   ZeroMatrix, Identity as Eye)
from sympy.matrices.expressions.factorizations import LofCholesky
from sympy.matrices.expressions.matexpr import MatrixElement

from computations.matrices import SymmetricLower

#: Scalars of matrices, and how to compute them from the matrix.
SCALARS = {Trace: lambda m, expr: np.trace(m),
           Determinant: lambda m, expr: np.linalg.det(m),
           MatrixElement: lambda m, expr: m[int(expr.i), int(expr.j)]}


def evaluate(expr, values):
    """The value of ``expr`` given ``{variable: array or float}``, in float64."""
    if expr in values:
        value = values[expr]
        return np.asarray(value, dtype=float) if isinstance(expr, sympy.MatrixExpr) \
            else float(value)
    if isinstance(expr, MatrixSymbol) or isinstance(expr, sympy.Symbol):
        raise KeyError(f'no value for {expr}')
    if type(expr) in SCALARS:
        matrix = expr.parent if isinstance(expr, MatrixElement) else expr.arg
        return float(SCALARS[type(expr)](evaluate(matrix, values), expr))
    if isinstance(expr, sympy.Expr) and not isinstance(expr, sympy.MatrixExpr):
        atoms = expr.atoms(*SCALARS)
        known = {k: v for k, v in values.items() if not isinstance(k, sympy.MatrixExpr)}
        known.update({atom: sympy.Float(evaluate(atom, values)) for atom in atoms})
        return float(expr.xreplace({k: sympy.Float(v) for k, v in known.items()}))
    if isinstance(expr, MatMul):
        result = 1.0
        for arg in expr.args:
            value = evaluate(arg, values)
            result = result * value if np.ndim(value) == 0 or np.ndim(result) == 0 \
                else result @ value
        return result
    if isinstance(expr, MatAdd):
        return sum(evaluate(arg, values) for arg in expr.args)
    if isinstance(expr, Transpose):
        return evaluate(expr.arg, values).T
    if isinstance(expr, Inverse):
        return np.linalg.inv(evaluate(expr.arg, values))
    if isinstance(expr, MatPow):
        return np.linalg.matrix_power(evaluate(expr.base, values), int(expr.exp))
    if isinstance(expr, SymmetricLower):
        lower = np.tril(evaluate(expr.arg, values))
        return lower + np.tril(lower, -1).T
    if isinstance(expr, LofCholesky):
        return np.linalg.cholesky(evaluate(expr.arg, values))
    if isinstance(expr, ZeroMatrix):
        return np.zeros(tuple(map(int, expr.shape)))
    if isinstance(expr, Eye):
        return np.eye(int(expr.shape[0]))
    raise NotImplementedError(f'the reference evaluator does not know {type(expr).__name__}')


def relative_error(got, expected):
    """Frobenius-norm relative error (absolute when the expected value is zero)."""
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    scale = np.linalg.norm(expected)
    return np.linalg.norm(got - expected) / (scale if scale else 1.0)
