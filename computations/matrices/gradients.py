"""Reverse-mode differentiation of scalar matrix expressions, into matrix expressions.

:func:`grad` returns, for a scalar ``f`` and a matrix symbol ``X``, the
matrix ``G`` with ``df = Trace(G.T*dX)`` for every perturbation ``dX``:
the gradient that treats each entry of X as its own variable (the Matrix
Cookbook's convention, and what central differences on the entries
measure).  The gradients are SymPy matrix expressions, so
:func:`computations.function` compiles them -- together with ``f`` itself,
sharing factorizations and products -- into BLAS/LAPACK programs.

Reverse mode walks the expression once from the top, each node passing its
adjoint to its arguments (shared subexpressions add up):

=========================  ==============================================
node                       adjoint of the argument, from the node's ``G``
=========================  ==============================================
``Trace(M)``               ``G*I``
``log(Determinant(M))``    ``G*M.-T``
``Determinant(M)``         ``G*Determinant(M)*M.-T``
``c*A*B*C`` (MatMul)       ``c*A.T*G*C.T`` for B; ``Trace(G.T*A*B*C)`` for c
``A + B``                  ``G`` for each term
``A.T``                    ``G.T``
``A.I``                    ``-A.-T*G*A.-T``
``A**k``                   ``sum of (A**i).T*G*(A**(k-1-i)).T``
``LofCholesky(K)``         ``L.-T*SymmetricLower(L.T*G)*L.-1/2``
``sqrt(Trace(Y.T*Y))``     ``G/(2*sqrt(...))``, and 0 where the norm is 0
scalar functions           the chain rule (SymPy's ``fdiff``)
``Piecewise``              ``G`` for the branch taken, nothing for the conditions
=========================  ==============================================

A Frobenius norm ``sqrt(Trace(Y.T*Y))`` (:func:`frobenius_norm`) is not
differentiable at ``Y = 0``, where the chain rule would give ``0/0``: its
gradient there is taken as 0, the subgradient of least norm (PyTorch's
choice too), by a ``Piecewise`` that the compiled program evaluates as a
conditional, so the norm and its gradient at 0 are finite.

The Cholesky factor ``L = LofCholesky(K)`` is a function of the symmetric
matrix K, so its row gives the *symmetric* gradient: Murray's (2016)
``S = L.-T*Phi(L.T*G)*L.-1`` (``Phi``: the lower triangle, half the
diagonal), symmetrized, ``(S + S.T)/2``, which is the row's formula since
``Phi(P) + Phi(P).T = SymmetricLower(P)``.  The loop algorithm of Smith
(1995) returns the gradient with respect to the lower triangle of K as
independent entries, ``Phi(S + S.T)``: twice the symmetric gradient below
the diagonal, once on it.  The compiler computes the row with one
CHOLESKY_ADJOINT call (:mod:`computations.schedulers.cholesky_adjoint`).

Scalars are traces (write a quadratic form ``y.T*A*y`` as
``Trace(y.T*A*y)``: indexing it makes a sum of elements), determinants and
their logarithms, 1x1 matrices, and arithmetic and functions of these;
:func:`frobenius_norm` spells a Frobenius norm.  A constant has the zero
gradient; shapes that do not fit (a trace of an ``n x m`` matrix) and
functions of matrices (``exp(A)``) are refused, as the compiler refuses
them (:func:`~.canonical.check_shape`).

>>> from sympy import MatrixSymbol, Trace, Q, log, Determinant
>>> K, y = MatrixSymbol('K', 3, 3), MatrixSymbol('y', 3, 1)
>>> grad(Trace(y.T*K.I*y)/2 + log(Determinant(K))/2, K, [Q.positive_definite(K)])
(1/2)*K**(-1) - (1/2)*K**(-1)*y*y.T*K**(-1)
"""
import functools
import operator

import sympy
from sympy import (Determinant, Identity, Inverse, MatAdd, MatMul, MatPow, MatrixExpr,
                   MatrixSymbol, OneMatrix, Piecewise, Trace, Transpose, ZeroMatrix)
from sympy.matrices.expressions.matexpr import MatrixElement
from sympy.functions.elementary.miscellaneous import MinMaxBase

from computations.matrices.compiler.canonical import UnsupportedExpressionError, canonicalize, check_shape
from computations.matrices.expressions import LofCholesky, SymmetricLower, is_log_determinant
from computations.matrices.compiler.properties import Properties, _congruence, split_product

__all__ = ['grad', 'frobenius_norm']


def frobenius_norm(X):
    """The Frobenius norm of a matrix expression, ``sqrt(Trace(X.T*X))``.

    Its gradient is ``X/frobenius_norm(X)``, and 0 at ``X = 0`` (see the module):

    >>> X = sympy.MatrixSymbol('X', 3, 2)
    >>> grad(frobenius_norm(X), X)
    Piecewise((1/sqrt(Trace(X*X.T)), Trace(X*X.T) > 0), (0, True))*X
    """
    return sympy.sqrt(Trace(X.T * X))


def grad(expr, wrt, assumptions=()):
    """The gradient of the scalar ``expr`` with respect to ``wrt`` (see the module).

    ``expr`` is a scalar SymPy expression of matrices or a 1x1 matrix
    expression; ``wrt`` a MatrixSymbol (the result is one expression) or a
    sequence of them (a list of expressions, in order).  ``assumptions``
    only tidy the result (``K.T`` is ``K`` for a symmetric K); the gradient
    is the same.

    >>> X, A = sympy.MatrixSymbol('X', 3, 3), sympy.MatrixSymbol('A', 3, 3)
    >>> grad(Trace(A*X), X), grad(Trace(A*X), [X, A]), grad(Trace(A) - Trace(A), A)
    (A.T, [A.T, X.T], 0)
    """
    single = isinstance(wrt, sympy.Basic)
    targets = [wrt] if single else list(wrt)
    for target in targets:
        if not isinstance(target, MatrixSymbol):
            raise TypeError(f'wrt: {target!r} ({type(target).__name__}) is not a '
                            'MatrixSymbol; gradients are with respect to matrix symbols')
    f = _scalar_function(expr)
    tidy = Properties(assumptions).canonical
    adjoints = _backward(f, frozenset(targets), tidy)
    results = [tidy(adjoints[t]) if t in adjoints else ZeroMatrix(*t.shape) for t in targets]
    return results[0] if single else results


def _scalar_function(expr):
    """``expr`` as a scalar: a 1x1 matrix becomes its trace."""
    expr = sympy.sympify(expr)
    if isinstance(expr, MatrixExpr):
        if expr.shape != (1, 1):
            raise ValueError(f'expr: {expr} is {expr.shape[0]}x{expr.shape[1]}; grad needs a '
                             'scalar (a trace, a log-determinant, a 1x1 matrix...)')
        return Trace(expr)
    if not isinstance(expr, sympy.Expr):
        raise TypeError(f'expr: {expr!r} is not a SymPy expression')
    return expr


def _backward(f, targets, tidy):
    """``{target: adjoint}`` for the targets ``f`` depends on."""
    def depends(node):
        return isinstance(node, sympy.Basic) and node.has(*targets)

    if not depends(f):                      # a constant: every gradient is zero
        return {}
    order = _topological(f, depends)
    pending = {f: [sympy.S.One]}
    found = {}
    for node in order:
        contributions = pending.pop(node, None)
        if not contributions:
            continue
        adjoint = tidy(functools.reduce(operator.add, contributions))
        if node in targets:
            found[node] = adjoint
            continue
        for child, contribution in RULES(node, adjoint):
            if depends(child):
                pending.setdefault(child, []).append(contribution)
    return found


def _topological(f, depends):
    """The nodes of ``f`` that depend on the targets, each after every node using it."""
    seen, post = set(), []
    stack = [(f, False)]
    while stack:
        node, done = stack.pop()
        if done:
            # After its arguments: a shape error names the innermost node at fault.  SymPy
            # accepts Trace(X) of an n x m X, whose adjoint would be an n x n identity.
            check_shape(node)
            post.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if depends(child))
    return post[::-1]


def _children(node):
    """The arguments the adjoint rules pass adjoints to."""
    if isinstance(node, (MatrixSymbol, Identity, ZeroMatrix, OneMatrix)) or not node.args:
        return ()
    if isinstance(node, MatMul):
        coefficient, factors = node.as_coeff_matrices()
        return (coefficient, *factors)
    if isinstance(node, MatrixElement):
        return (node.parent,)
    return tuple(arg for arg in node.args if isinstance(arg, sympy.Basic))


# Adjoint rules: rule(node, G) -> [(argument, its adjoint contribution)] -------------

def _product(factors, shape):
    factors = list(factors)
    if not factors:
        return Identity(shape)
    return factors[0] if len(factors) == 1 else MatMul(*factors)


def _matmul(node, G):
    coefficient, factors = node.as_coeff_matrices()
    out = []
    for i, factor in enumerate(factors):
        left = _product(factors[:i], factor.shape[0])
        right = _product(factors[i + 1:], factor.shape[1])
        out.append((factor, coefficient * left.T * G * right.T))
    if not coefficient.is_number:             # a coefficient made of matrices (or symbols)
        out.append((coefficient, Trace(G.T * _product(factors, None))))
    return out


def _matpow(node, G):
    A, k = node.base, node.exp
    if not k.is_Integer:
        raise UnsupportedExpressionError(f'{node}: only integer powers can be differentiated')
    if k > 0:
        return [(A, _power_adjoint(A, int(k), G))]
    inverse = Inverse(A)                      # A**-k = (A.I)**k, then the inverse's rule
    return [(A, -inverse.T * _power_adjoint(inverse, int(-k), G) * inverse.T)]


def _power_adjoint(A, k, G):
    """The adjoint of ``A`` in ``A**k``: the sum over i of ``(A**i).T*G*(A**(k-1-i)).T``."""
    n = A.shape[0]
    terms = [_product([A] * i, n).T * G * _product([A] * (k - 1 - i), n).T for i in range(k)]
    return functools.reduce(operator.add, terms)


def _cholesky(node, G):
    L = node
    return [(node.arg, sympy.S.Half * Inverse(Transpose(L)) * SymmetricLower(Transpose(L) * G)
             * Inverse(L))]


def _function(node, G):
    if is_log_determinant(node):
        M = node.args[0].arg
        return [(M, G * Inverse(M).T)]
    matrices = [arg for arg in node.args if isinstance(arg, MatrixExpr)]
    if matrices:
        raise UnsupportedExpressionError(
            f'{node}: {type(node).__name__} of the matrix {matrices[0]} (an elementwise or '
            'matrix function) cannot be differentiated; functions of scalars (traces, '
            'determinants...) can')
    return [(arg, G * _derivative(node, i + 1)) for i, arg in enumerate(node.args)]


def _derivative(node, i):
    """SymPy's derivative of the scalar function ``node`` in its ``i``-th argument: a step
    (``Max``, ``Min``: ``Heaviside``, if-then-else conditions) as a ``Piecewise`` of
    comparisons, And, Or and Not, which the compiler evaluates; where
    SymPy has none (``sign``, ``floor``: an unevaluated ``Derivative``), an error naming
    the function, not the ``Subs`` the compiler would meet."""
    derivative = node.fdiff(i)
    if derivative.has(sympy.Derivative, sympy.Subs):
        raise UnsupportedExpressionError(
            f'{node}: SymPy has no derivative of {type(node).__name__} (it gives '
            f'{derivative}), so it cannot be differentiated')
    if derivative.has(sympy.Heaviside):
        derivative = derivative.rewrite(Piecewise)
    # Max of three gives if-then-else conditions: as And/Or/Not, which the compiler reads
    return derivative.replace(sympy.ITE, lambda a, b, c: sympy.Or(sympy.And(a, b),
                                                                  sympy.And(sympy.Not(a), c)))


def _piecewise(node, G):
    """Each branch's value gets the adjoint where it is the branch taken; the conditions are
    piecewise constant and get none (the norm's own rule makes one: differentiating a
    gradient of ``frobenius_norm`` again, a Hessian-vector product, meets it)."""
    contributions, before = [], []
    for value, condition in node.args:
        taken = sympy.And(condition, *(sympy.Not(c) for c in before))
        contributions.append((value, G * Piecewise((1, taken), (0, True))))
        before.append(condition)
    return contributions


def _mul(node, G):
    return [(arg, G * sympy.Mul(*(node.args[:i] + node.args[i + 1:])))
            for i, arg in enumerate(node.args)]


def _pow(node, G):
    base, exponent = node.args
    if exponent == sympy.S.Half and _is_squared_norm(base):
        # The norm's own rule (see the module): 1/(2*norm), 0 where the norm is 0, so that
        # the adjoint of Y, (Y/norm)*G, is 0 there instead of 0*inf.
        return [(base, G * Piecewise((1 / (2 * node), base > 0), (0, True)))]
    return [(base, G * exponent * base ** (exponent - 1)),
            (exponent, G * sympy.log(base) * node)]


def _is_squared_norm(scalar):
    """Whether ``scalar`` is ``c*Trace(Y.T*Y)`` with ``c > 0``: a squared Frobenius norm."""
    if not isinstance(scalar, Trace):
        return False
    coefficient, factors = split_product(canonicalize(scalar.arg))
    return bool(coefficient.is_positive) and len(factors) % 2 == 0 \
        and _congruence(Properties(), factors) is not None


def _element(node, G):
    if node.parent.shape != (1, 1):
        raise UnsupportedExpressionError(f'{node}: only the element of a 1x1 matrix can be '
                                         'differentiated (write it as a trace)')
    return [(node.parent, G * Identity(1))]


_RULES = {
    sympy.Add: lambda node, G: [(arg, G) for arg in node.args],
    sympy.Mul: _mul,
    sympy.Pow: _pow,
    sympy.Function: _function,
    MinMaxBase: _function,                         # Max, Min: not Functions
    Piecewise: _piecewise,
    Trace: lambda node, G: [(node.arg, G * Identity(node.arg.shape[0]))],
    Determinant: lambda node, G: [(node.arg, G * node * Inverse(node.arg).T)],
    MatrixElement: _element,
    MatAdd: lambda node, G: [(arg, G) for arg in node.args],
    MatMul: _matmul,
    MatPow: _matpow,
    Transpose: lambda node, G: [(node.arg, G.T)],
    Inverse: lambda node, G: [(node.arg, -node.T * G * node.T)],
    LofCholesky: _cholesky,
}


def _no_rule(node, G):
    if isinstance(node, SymmetricLower):
        raise UnsupportedExpressionError(
            f'{node}: second derivatives through a Cholesky factor are not supported')
    raise UnsupportedExpressionError(
        f'{node} ({type(node).__name__}) cannot be differentiated: grad knows traces, '
        'determinants and their logarithms, products, sums, scalings, transposes, inverses, '
        'integer powers, Cholesky factors and scalar functions')


#: The adjoint rule of each expression type, ``RULES(node, G) -> [(child, contribution)]``:
#: a registry by type (:func:`functools.singledispatch`; register more with
#: ``RULES.register(MyExpr, rule)``).
RULES = functools.singledispatch(_no_rule)
for _type, _adjoint in _RULES.items():
    RULES.register(_type, _adjoint)
