"""SymPy matrix values built fast: the products, sums, transposes and inverses that
operations compute, in SymPy's canonical form.

SymPy canonicalizes every product and sum it builds (``MatMul(...).doit()``), and
building operations on SymPy expressions is most of a compilation's time.  These
builders give SymPy's own result: at once, without SymPy's rules, when that result is
provably the factors or terms as they are (:func:`plain_product`, :func:`add`), and
else SymPy's, kept in the shared :class:`~computations.matrices.ops.memo.Memo` when
one is active (a compiled function compiling itself for a new shape).

>>> A, B = sympy.MatrixSymbol('A', 2, 3), sympy.MatrixSymbol('B', 3, 2)
>>> multiply(A, B) == A*B, transpose_if(True, A*B)
(True, B.T*A.T)
"""
import sympy
from sympy import MatrixExpr
from sympy.matrices.expressions.matadd import canonicalize as _matadd_canonical
from sympy.matrices.expressions.matmul import canonicalize as _matmul_canonical

from computations.matrices.ops.memo import active

__all__ = ['transpose_if', 'inverse', 'solved', 'multiply', 'add', 'plain_product']


def transpose_if(flag, X):
    """``X.T`` if ``flag`` else ``X``; a product's transpose is its factors' transposes in
    reverse, each kept in the shared memo when there is one (SymPy simplifies the
    transpose of a product anew each time, its factors' transposes with it).

    >>> transpose_if(True, sympy.MatrixSymbol('A', 2, 3) * sympy.MatrixSymbol('B', 3, 2))
    B.T*A.T
    """
    if not flag:
        return X
    memo = active()
    if type(X) is sympy.MatMul:                           # B.T*A.T at once
        factors = _opaque_factors(X, memo)
        if factors is not None:
            flipped = plain_product([_transposed(f, memo) for f in reversed(factors)], memo)
            if flipped is not None:
                return flipped
    return _transposed(X, memo)


def _transposed(X, memo):
    """``X.T``: at once for a plain factor, else SymPy's, kept in ``memo``."""
    if _is_plain(X):
        return _flipped(X)
    if memo is None:
        return X.T
    return memo.lookup('transposes', X, lambda: _canonical(memo, X.T))


def inverse(X):
    """``X.I`` as SymPy builds it, kept in the shared memo when there is one.

    >>> inverse(sympy.MatrixSymbol('A', 2, 2))
    A**(-1)
    """
    memo = active()
    if memo is None:
        return X.I
    return memo.lookup('products', ('inverse', X), lambda: X.I)


def solved(A, B):
    """``A.I*B`` as SymPy builds it (see :func:`multiply`).

    >>> A, B = sympy.MatrixSymbol('A', 2, 2), sympy.MatrixSymbol('B', 2, 3)
    >>> solved(A, B) == A.I*B
    True
    """
    return multiply(inverse(A), B)


def multiply(*factors):
    """``factors[0]*factors[1]*...`` as SymPy builds it (``MatMul(...).doit()``), the
    simplified factors kept in the shared memo when there is one: SymPy simplifies every
    factor again for every product it is in, and operations are built on the same values
    many times.

    >>> A, B = sympy.MatrixSymbol('A', 2, 2), sympy.MatrixSymbol('B', 2, 2)
    >>> multiply(2, A.T, B) == 2*A.T*B
    True
    """
    memo = active()
    joined = plain_product(factors, memo) if _is_matrix(factors[0]) else \
        _scaled_product(factors[0], factors[1:], memo)
    if joined is not None:
        return joined
    return _combined(sympy.MatMul, _matmul_canonical, factors)


def _is_matrix(x):
    return isinstance(x, MatrixExpr)


def _scaled_product(coefficient, factors, memo):
    """``coefficient*product(factors)`` in SymPy's canonical form, built at once when the
    product is (:func:`plain_product`) and the coefficient is a scalar other than 0 and 1
    (that SymPy puts in front), not distributed over a sum (which SymPy does), else None."""
    if memo is None or not isinstance(coefficient, sympy.Expr) or _is_matrix(coefficient) \
            or coefficient == 0 or coefficient == 1 or not all(map(_is_matrix, factors)):
        return None
    joined = plain_product(factors, memo)
    if joined is None or isinstance(joined, sympy.MatAdd):
        return None
    parts = joined.args if type(joined) is sympy.MatMul else (joined,)
    return memo.canonical(sympy.Basic.__new__(sympy.MatMul, coefficient, *parts))


def plain_product(factors, memo=None):
    """The product of ``factors`` in SymPy's canonical form (``MatMul(*factors).doit()``),
    built in O(length) when that form is their factors as they are, else None.

    That is when every factor is *opaque* (:func:`_opaque_factors`: a matrix symbol or
    its transpose, or, with a ``memo``, an expression SymPy made canonical there that no
    product rule rewrites; a product of such factors, without coefficient, contributes
    its factors), their shapes match, and no two neighbours combine, neither among the
    factors given nor among their factors (:func:`_apart`: ``(A*B)*(A*B)`` is
    ``(A*B)**2``, ``X*X.I`` the identity).  SymPy runs every rule over the whole list
    until nothing changes, O(length) SymPy work per product, so a long chain's products
    would cost O(L^2); and a product with the inverse of a sum in it costs milliseconds.

    >>> A, B = sympy.MatrixSymbol('A', 2, 2), sympy.MatrixSymbol('B', 2, 2)
    >>> plain_product([A, B.T * A]) == sympy.MatMul(A, B.T, A).doit()
    True
    >>> plain_product([A * B, B]) is None          # A*B**2
    True
    >>> plain_product([A * B.T, A * B.T]) is None  # (A*B.T)**2
    True
    """
    for a, b in zip(factors, factors[1:]):
        if not _apart(a, b):
            return None
    joined = []
    for factor in factors:
        parts = _opaque_factors(factor, memo)
        if parts is None:
            return None
        joined.extend(parts)
    for a, b in zip(joined, joined[1:]):
        if a.shape[1] != b.shape[0] or not _apart(a, b):
            return None
    if len(joined) == 1:
        return joined[0]
    result = sympy.Basic.__new__(sympy.MatMul, *joined)   # what MatMul() makes, unchecked
    return result if memo is None else _canonical(memo, result)


def _is_plain(expr):
    kind = type(expr)
    return kind is sympy.MatrixSymbol or (kind is sympy.Transpose
                                          and type(expr.arg) is sympy.MatrixSymbol)


def _flipped(factor):
    """The transpose of a plain factor."""
    return factor.arg if type(factor) is sympy.Transpose else sympy.Transpose(factor)


#: What SymPy's product rules rewrite inside a product (zeros, identities and ones,
#: explicit and permutation matrices), and products (whose factors count instead).
_REWRITTEN = (sympy.MatMul, sympy.ZeroMatrix, sympy.Identity, sympy.OneMatrix,
              sympy.MatrixBase, sympy.PermutationMatrix)


def _opaque_factors(factor, memo):
    """The factors ``factor`` puts into a product unchanged, or None: itself when it is
    plain, or canonical in ``memo`` and nothing product rules rewrite; the factors of a
    product without coefficient whose factors are plain, or that is canonical."""
    if _is_plain(factor):
        return (factor,)
    canonical = memo is not None and isinstance(factor, MatrixExpr) and memo.is_canonical(factor)
    if type(factor) is sympy.MatMul:
        args = factor.args
        if all(map(_is_plain, args)):
            return args
        if canonical and not any(not isinstance(f, MatrixExpr) or isinstance(f, _REWRITTEN)
                                 for f in args):         # no coefficient, nothing rewritten
            return args
        return None
    return (factor,) if canonical and not isinstance(factor, _REWRITTEN) else None


def _apart(a, b):
    """Whether SymPy's ``combine_powers`` leaves the neighbours ``a*b`` as they are: their
    bases (``X`` of ``X**k`` and of ``X.I``) differ, neither base is itself a power, and
    neither is the inverse of a product (which cancels against the factors beside it)."""
    base_a = a.args[0] if isinstance(a, sympy.MatPow) else a
    base_b = b.args[0] if isinstance(b, sympy.MatPow) else b
    for factor, base in ((a, base_a), (b, base_b)):
        if isinstance(base, sympy.MatPow) or (factor is not base
                                              and isinstance(base, sympy.MatMul)):
            return False
    return not (hash(base_a) == hash(base_b) and base_a == base_b)


def add(*terms):
    """``terms[0] + terms[1] + ...`` as SymPy builds it (``MatAdd(...).doit()``), the
    simplified terms kept as in :func:`multiply`.

    >>> A, B = sympy.MatrixSymbol('A', 2, 2), sympy.MatrixSymbol('B', 2, 2)
    >>> add(A, 2*B) == A + 2*B
    True
    """
    summed = _plain_sum(terms, active())
    if summed is not None:
        return summed
    return _combined(sympy.MatAdd, _matadd_canonical, terms)


def _plain_sum(terms, memo):
    """The sum of ``terms`` in SymPy's canonical form (``MatAdd(*terms).doit()``), built
    at once when that is their terms (a canonical sum's terms for a sum) in SymPy's
    order: every term plain or canonical in ``memo``, none zero or explicit, the same
    shape, and no two with the same matrix part (``A + 2*A`` is ``3*A``); else None.
    The order is ``default_sort_key``'s, each term's key kept in ``memo``."""
    if memo is None or len(terms) < 2:
        return None
    flat = []
    for term in terms:
        if not _is_matrix(term) or not (_is_plain(term) or memo.is_canonical(term)) \
                or isinstance(term, _REWRITTEN[1:]):
            return None
        flat.extend(term.args if type(term) is sympy.MatAdd else (term,))
    shape = flat[0].shape
    parts = set()
    for term in flat:
        if type(term) is sympy.MatAdd or isinstance(term, _REWRITTEN[1:]) or term.shape != shape:
            return None
        part = tuple(f for f in term.args if _is_matrix(f)) if type(term) is sympy.MatMul \
            else (term,)
        if part in parts:
            return None
        parts.add(part)
    flat.sort(key=lambda term: memo.lookup('keys', ('sort', term),
                                           lambda: sympy.default_sort_key(term)))
    return memo.canonical(sympy.Basic.__new__(sympy.MatAdd, *flat))


def _combined(kind, canonical, args):
    memo = active()
    if memo is None:
        return kind(*args).doit()
    key = (kind, tuple((type(a), a) for a in args))
    return memo.lookup('products', key, lambda: _canonical(memo, canonical(
        kind(*(_done(memo, sympy.sympify(a)) for a in args)))))


def _done(memo, expr):
    """``expr.doit()``, kept in ``memo``, and so are the arguments' of a product or sum
    (what their ``doit`` does: the arguments' ``doit``, then the canonical form)."""
    if expr.is_Atom:
        return expr.doit()
    kind = type(expr)
    if kind in _CANONICAL:
        return memo.lookup('products', ('doit', kind, expr), lambda: _canonical(
            memo, _CANONICAL[kind](kind(*(_done(memo, arg) for arg in expr.args)))))
    return memo.lookup('products', ('doit', kind, expr), lambda: _canonical(memo, expr.doit()))


def _canonical(memo, expr):
    """``expr``, which SymPy made canonical, marked so in ``memo``: the one instance of
    its value there (:meth:`~computations.matrices.ops.memo.Memo.canonical`)."""
    return memo.canonical(expr)


_CANONICAL = {sympy.MatMul: _matmul_canonical, sympy.MatAdd: _matadd_canonical}
