"""Random NumPy data with a declared property: SPD, triangular, invertible, full rank...

:func:`random_matrix` makes a well-conditioned matrix of one of the kinds
in :data:`KINDS`, which is what the assumption of that kind (see
:data:`PREDICATES`) promises the compiler.  The matrix strategies of
:mod:`computations.testing.expressions` draw their data with it; use it
for data of your own tests too.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> S = random_matrix('spd', (3, 3), rng)
>>> bool(np.all(np.linalg.eigvalsh(S) >= 1) and np.array_equal(S, S.T))
True
"""
import numpy as np
from sympy import Q

from computations.sizes import is_integer

__all__ = ['KINDS', 'PREDICATES', 'random_matrix']

#: The kinds of input :func:`random_matrix` makes (``'scalar'`` is a float).
KINDS = ('general', 'symmetric', 'spd', 'lower', 'upper', 'invertible', 'diagonal', 'fullrank',
         'scalar')

#: The SymPy predicate that declares each kind (``general`` and ``scalar`` declare nothing).
PREDICATES = {'symmetric': Q.symmetric, 'spd': Q.positive_definite,
              'lower': Q.lower_triangular, 'upper': Q.upper_triangular,
              'invertible': Q.invertible, 'diagonal': Q.diagonal, 'fullrank': Q.fullrank}


def random_matrix(kind, shape, rng):
    """A random value of that kind and shape, as float64: well conditioned for the kinds
    that are invertible (``spd``, ``lower``, ``upper``, ``invertible``, ``diagonal``, and
    ``fullrank`` for its pseudo-inverse); ``general`` and ``symmetric`` matrices are
    plain random ones, which may be ill conditioned (the strategies never invert them).

    ``kind`` is one of :data:`KINDS`; ``shape`` is ``(rows, columns)``
    (square for every kind but ``general`` and ``fullrank``, which must be
    tall: rows >= columns; ``None`` for ``scalar``); ``rng`` a
    :class:`numpy.random.Generator`.

    - ``general``: entries uniform in [-1, 1];
    - ``symmetric``: exactly symmetric;
    - ``spd``: ``X X^T / n + I``, eigenvalues at least 1 (at most 1 + n, below 3 in
      practice), exactly symmetric;
    - ``lower``/``upper``: triangular, diagonal in [1, 2];
    - ``invertible``: strictly diagonally dominant (off-diagonal entries in [-1, 1],
      diagonal ones in [n, n + 2]) or orthogonal;
    - ``diagonal``: diagonal in [0.5, 2];
    - ``fullrank``: tall, singular values in [1, 2];
    - ``scalar``: a float of magnitude in [0.5, 2], either sign.

    >>> rng = np.random.default_rng(1)
    >>> L = random_matrix('lower', (3, 3), rng)
    >>> bool(np.array_equal(L, np.tril(L)) and np.all(np.diag(L) >= 1))
    True
    >>> random_matrix('spd', (2, 3), rng)
    Traceback (most recent call last):
        ...
    ValueError: shape: a spd matrix is square, got (2, 3)
    """
    if kind not in KINDS:
        raise ValueError(f'kind must be one of {", ".join(KINDS)}, got {kind!r}')
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f'rng must be a numpy.random.Generator, got {type(rng).__name__}')
    if kind == 'scalar':
        if shape not in (None, ()):
            raise ValueError(f'shape: a scalar has none (None), got {shape!r}')
        return float(rng.uniform(0.5, 2.0) * rng.choice([-1.0, 1.0]))
    try:
        r, c = shape
    except (TypeError, ValueError):
        raise ValueError(f'shape must be (rows, columns), got {shape!r}') from None
    if not (is_integer(r) and is_integer(c)):
        raise ValueError(f'shape must be two integers, got {shape!r}')
    r, c = int(r), int(c)
    if r < 0 or c < 0:
        raise ValueError(f'shape must not be negative, got {shape!r}')
    if kind not in ('general', 'fullrank') and r != c:
        raise ValueError(f'shape: a {kind} matrix is square, got {tuple(shape)!r}')
    if kind == 'fullrank' and r < c:
        raise ValueError(f'shape: a fullrank matrix here is tall (rows >= columns), '
                         f'got {tuple(shape)!r}')
    return _MAKERS[kind](rng, r, c)


def _general(rng, r, c):
    return rng.uniform(-1, 1, (r, c))


def _symmetric(rng, n, _):
    x = rng.uniform(-1, 1, (n, n))
    return (x + x.T) / 2


def _spd(rng, n, _=None):
    x = rng.uniform(-1, 1, (n, n))
    a = x @ x.T / max(n, 1) + np.eye(n)
    return (a + a.T) / 2                       # exactly symmetric


def _triangle(rng, n, lower):
    # Off-diagonal row sums below 1 <= the diagonal: L = D (I + N) with |N| < 1, so the
    # condition number stays bounded as n grows (with entries of size 1 it grows as 2^n).
    off = rng.uniform(-1, 1, (n, n)) / max(n, 1)
    off = np.tril(off, -1) if lower else np.triu(off, 1)
    return off + np.diag(rng.uniform(1, 2, n))


def _invertible(rng, n, _=None):
    if rng.integers(2):                        # |diagonal| >= n > the off-diagonal row sums
        return rng.uniform(-1, 1, (n, n)) + (n + 1) * np.eye(n)
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))             # orthogonal


def _tall_fullrank(rng, m, n):
    """``U diag(s) V^T`` with orthonormal U (m x n), V (n x n) and s in [1, 2]."""
    u, _ = np.linalg.qr(rng.standard_normal((m, n)))
    v, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (u * rng.uniform(1, 2, n)) @ v.T


_MAKERS = {'general': _general, 'symmetric': _symmetric, 'spd': _spd,
           'lower': lambda rng, n, _: _triangle(rng, n, True),
           'upper': lambda rng, n, _: _triangle(rng, n, False),
           'invertible': _invertible,
           'diagonal': lambda rng, n, _: np.diag(rng.uniform(0.5, 2.0, n)),
           'fullrank': _tall_fullrank}
