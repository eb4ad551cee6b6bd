"""Operations outside BLAS and LAPACK that compiled programs occasionally need.

``TRANSPOSE``
    an out-of-place transposition, for the rare value that a routine needs
    in the orientation the program does not hold (BLAS's trans flags cover
    most cases for free);
``SCALAR``
    a scalar expression of scalars, such as ``2*alpha`` when a product is
    scaled by it, or ``Trace(y.T*x)/2 + log(Determinant(K))/2``: its inputs
    are the scalar symbols and the scalars of matrices (traces,
    determinants...) it contains, computed by
    :mod:`computations.matrices.ops.scalars`;
``SYMMETRIZE``
    :class:`~.expressions.SymmetricLower`: the lower triangle copied onto
    the upper one, in place;
``DIAGMM``
    a product with a diagonal matrix or its inverse, ``alpha*D*B``,
    ``alpha*B*D``, ``alpha*D.I*B``, ``alpha*B*D.I``: a scaling of B's rows or
    columns by D's diagonal, O(mn) instead of a triangular routine's O(mn^2);
``DIAGMM_ROOT``
    a product with the Cholesky factor of a positive diagonal D (its square
    root) or its inverse, without forming it: a scaling, O(mn), after which
    ``Y.T*D*Y`` is one SYRK (half the FLOPs of a scaling and GEMM);
``SHIFT``
    a multiple of the identity added to a square matrix, ``C + alpha*I``: its
    diagonal shifted in place, O(n), where AXPY with a materialized identity
    (or a routine accumulating onto one) allocates and reads n**2 entries;
``DIAGAXPY``
    a multiple of a diagonal matrix added to a square matrix, ``alpha*D + C``:
    D's diagonal scaled onto C's, in place, O(n), where AXPY (or a routine
    accumulating onto D, which copies and scales all of it) reads n**2
    entries -- the Levenberg-Marquardt ``J.T*J + lambda*D``;
``CHOLESKY_ADJOINT``
    the adjoint of the Cholesky factorization, ``alpha*L.-T*SymmetricLower(L.T*B)*L.-1``,
    by a recursive algorithm of level-3 BLAS calls at about twice the
    FLOPs of the factorization.

TRANSPOSE, SCALAR and SYMMETRIZE cost no floating-point operations in the
search's count (they move data, or compute one number).

>>> from sympy import MatrixSymbol, Symbol
>>> A, B = MatrixSymbol('A', 3, 2), MatrixSymbol('B', 2, 2)
>>> TRANSPOSE(A*B).outputs, TRANSPOSE(A).inplace
((B.T*A.T,), {})
>>> SCALAR(2*Symbol('alpha') + 1).inputs
(alpha,)
"""
import sympy
from sympy import Determinant, MatrixExpr, Q, Trace
from sympy.matrices.expressions.matexpr import MatrixElement

from computations.core import Computation
from computations.matrices.errors import NotPositiveDefiniteError, SingularMatrixError
from computations.matrices.ops.algebra import add, multiply
from computations.matrices.ops.core import (Call, MatrixComputation, as_flag, as_matrix,
                                           as_scalar, as_side, check_shapes, check_square)
from computations.matrices.expressions import LofCholesky, SymmetricLower, is_log_determinant

__all__ = ['TRANSPOSE', 'SCALAR', 'SYMMETRIZE', 'DIAGMM', 'DIAGMM_ROOT', 'SHIFT', 'DIAGAXPY',
           'CHOLESKY_ADJOINT', 'scalar_atoms']


class TRANSPOSE(MatrixComputation):
    """``X.T`` in a new buffer.

    >>> from sympy import MatrixSymbol
    >>> print(TRANSPOSE(MatrixSymbol('X', 3, 2)))
    X.T = TRANSPOSE(X)
    """
    __slots__ = ()
    __props__ = ('X',)
    arguments = ('X',)
    routine = 'transpose'
    library = 'numpy'
    out_buffers = (0,)
    #: The planner's price of each element a transposed copy moves, in GEMM FLOPs: it reads
    #: one array across its columns, at the memory's speed.  NumPy's transposed copy took
    #: the time of 65-82 GEMM FLOPs an element at 200 x 2000 and 500 x 2000, 33 at 200 x
    #: 200 and 119 at 2000 x 2000 (GEMM at 122 GFLOP/s on two pinned threads, 2026-12-08).
    element_price = 64

    def __init__(self, X):
        X = as_matrix(X, 'X', type(self).__name__)
        self._set(X, outputs=[X.T])

    @property
    def flops(self):
        return 0


def scalar_atoms(expr):
    """The scalars a scalar expression is computed from: its symbols, and its traces,
    elements, determinants and logarithms of determinants (whole).

    >>> from sympy import MatrixSymbol, Symbol, log
    >>> K = MatrixSymbol('K', 3, 3)
    >>> scalar_atoms(Symbol('a')*log(Determinant(K)) + Trace(K))
    (a, log(Determinant(K)), Trace(K))
    """
    found = set()

    def visit(node):
        if isinstance(node, (Trace, MatrixElement, Determinant)) or node.is_Symbol \
                or is_log_determinant(node):
            found.add(node)
        elif not isinstance(node, MatrixExpr):
            for arg in node.args:
                visit(arg)
    visit(sympy.sympify(expr))
    return tuple(sorted(found, key=sympy.default_sort_key))


class SCALAR(Computation):
    """A scalar expression computed from the scalars it contains (:func:`scalar_atoms`).

    >>> from sympy import Symbol
    >>> a, b = Symbol('a'), Symbol('b')
    >>> print(SCALAR(a*b))
    a*b = SCALAR(a, b)
    """
    __slots__ = ()
    __props__ = ('expr',)

    def __init__(self, expr):
        expr = sympy.sympify(expr)
        if isinstance(expr, MatrixExpr) or not isinstance(expr, sympy.Expr) or expr.is_number:
            raise TypeError(f'SCALAR needs a scalar expression of symbols, got {expr!r}')
        self._freeze(expr)

    @property
    def inputs(self):
        return scalar_atoms(self.expr)

    @property
    def outputs(self):
        return (self.expr,)

    @property
    def flops(self):
        return 0

    def __str__(self):
        return f"{self.expr} = SCALAR({', '.join(map(str, self.inputs))})"


def _scaling(name, alpha, D, B, side, inverse):
    """The checked arguments of a product with a square D on B's ``side`` (DIAGMM,
    DIAGMM_ROOT), or an error naming them."""
    alpha = as_scalar(alpha, 'alpha', name)
    D, B = as_matrix(D, 'D', name), as_matrix(B, 'B', name)
    side, inverse = as_side(side, name), as_flag(inverse, 'inverse', name)
    check_square(D, 'D', name)
    if side == 'L':
        check_shapes(name, 'D', D, 'B', B, 1, 0)
    else:
        check_shapes(name, 'B', B, 'D', D, 1, 0)
    return alpha, D, B, side, inverse


class DIAGMM(MatrixComputation):
    """Product with a diagonal D (or its inverse): ``alpha*op(D)*B`` (side 'L') or
    ``alpha*B*op(D)`` ('R'), ``op(D)`` being ``D.I`` with ``inverse``; written into B.

    Only D's diagonal is read, so D must be diagonal; a zero on it makes the
    inverse raise SingularMatrixError.

    >>> from sympy import MatrixSymbol
    >>> D, B = MatrixSymbol('D', 3, 3), MatrixSymbol('B', 3, 2)
    >>> op = DIAGMM(2, D, B, inverse=True)
    >>> op.outputs, op.condition, op.inplace, op.flops
    ((2*D**(-1)*B,), Q.diagonal(D), {0: 1}, 6)
    """
    __slots__ = ()
    __props__ = ('alpha', 'D', 'B', 'side', 'inverse')
    arguments = ('alpha', 'D', 'B')
    overwrites = {0: 'B'}
    requires = {'D': sympy.Q.diagonal}
    failure = (SingularMatrixError, 'D')
    routine = 'diagmm'
    library = 'numpy'

    def __init__(self, alpha, D, B, side='L', inverse=False):
        alpha, D, B, side, inverse = _scaling(type(self).__name__, alpha, D, B, side, inverse)
        opD = D.I if inverse else D
        product = opD * B if side == 'L' else B * opD
        self._set(alpha, D, B, side, inverse,
                  outputs=[product if alpha == 1 else alpha * product])

    @property
    def flops(self):
        m, n = self.B.shape
        return m * n


class DIAGMM_ROOT(MatrixComputation):
    """Product with the Cholesky factor of a positive diagonal D, its square root, without
    forming it: ``alpha*L.T*B`` (side 'L') or ``alpha*B*L`` ('R'), ``L = LofCholesky(D)``;
    with ``inverse``, ``alpha*L.I*B`` or ``alpha*B*L.-T``.  Written into B.

    A scaling of B's rows (columns) by the square roots of D's diagonal, O(mn): a
    congruence ``Y.T*D*Y`` is then one SYRK of ``L.T*Y`` (``Y.T*D.I*Y`` of ``L.I*Y``), where
    POTRF and TRMM (TRSM) take O(n^3).  Only D's diagonal is read; a nonpositive entry
    raises NotPositiveDefiniteError naming D, as POTRF would.

    >>> from sympy import MatrixSymbol
    >>> W, X = MatrixSymbol('W', 4, 4), MatrixSymbol('X', 4, 2)
    >>> op = DIAGMM_ROOT(1, W, X)
    >>> op.outputs, op.condition, op.inplace, op.flops
    ((LofCholesky(W).T*X,), Q.diagonal(W) & Q.positive_definite(W), {0: 1}, 8)
    >>> DIAGMM_ROOT(2, W, X.T, side='R', inverse=True).outputs
    (2*X.T*LofCholesky(W).T**(-1),)
    """
    __slots__ = ()
    __props__ = ('alpha', 'D', 'B', 'side', 'inverse')
    arguments = ('alpha', 'D', 'B')
    overwrites = {0: 'B'}
    requires = {'D': Q.diagonal}
    failure = (NotPositiveDefiniteError, 'D')
    routine = 'diagonal_root_scale'
    #: A kernel of :mod:`computations.schedulers.calls`, called through this spec like a
    #: BLAS routine: the interpreter and the generated source derive from it.
    call = Call(arguments, (0, 'info'), flags={'side': ('side', 'R'), 'inverse': 'inverse'},
                overwrite={'B': 'overwrite_b'})
    library = 'numpy'

    def __init__(self, alpha, D, B, side='L', inverse=False):
        alpha, D, B, side, inverse = _scaling(type(self).__name__, alpha, D, B, side, inverse)
        L = LofCholesky(D)
        if side == 'L':
            product = (L.I if inverse else L.T) * B
        else:
            product = B * (L.T.I if inverse else L)
        self._set(alpha, D, B, side, inverse,
                  outputs=[product if alpha == 1 else alpha * product])

    @property
    def condition(self):
        return sympy.And(Q.diagonal(self.D), Q.positive_definite(self.D))

    @property
    def flops(self):
        m, n = self.B.shape
        return m * n


class SHIFT(MatrixComputation):
    """``C + alpha*I``: ``alpha`` added to the diagonal of the square matrix C, in C.

    O(n) work: a sum with a multiple of the identity (``K + sigma2*I``, ``H.T*H +
    lambda*I``) never forms the identity.

    >>> from sympy import MatrixSymbol, Symbol
    >>> C = MatrixSymbol('C', 3, 3)
    >>> op = SHIFT(Symbol('s'), C)
    >>> op.outputs, op.inplace, op.flops
    ((s*I + C,), {0: 1}, 3)
    """
    __slots__ = ()
    __props__ = ('alpha', 'C')
    arguments = ('alpha', 'C')
    overwrites = {0: 'C'}
    routine = 'add_to_diagonal'
    #: A kernel of :mod:`computations.schedulers.calls`, called through this spec.
    call = Call(arguments, (0,), overwrite={'C': 'overwrite_c'}, elementwise=('C',))
    library = 'numpy'

    def __init__(self, alpha, C):
        name = type(self).__name__
        alpha, C = as_scalar(alpha, 'alpha', name), as_matrix(C, 'C', name)
        check_square(C, 'C', name)
        self._set(alpha, C, outputs=[add(C, multiply(alpha, sympy.Identity(C.shape[0])))])

    @property
    def flops(self):
        return self.C.shape[0]


class DIAGAXPY(MatrixComputation):
    """``alpha*D + C`` with D diagonal: ``alpha`` times D's diagonal added to the diagonal of
    the square matrix C, in C.

    O(n) work; only D's diagonal is read, so D must be diagonal.

    >>> from sympy import MatrixSymbol, Symbol
    >>> D, C = MatrixSymbol('D', 3, 3), MatrixSymbol('C', 3, 3)
    >>> op = DIAGAXPY(Symbol('s'), D, C)
    >>> op.outputs, op.condition, op.inplace, op.flops
    ((s*D + C,), Q.diagonal(D), {0: 2}, 6)
    """
    __slots__ = ()
    __props__ = ('alpha', 'D', 'C')
    arguments = ('alpha', 'D', 'C')
    overwrites = {0: 'C'}
    requires = {'D': Q.diagonal}
    routine = 'add_to_diagonal'
    #: :func:`~computations.schedulers.calls.add_to_diagonal`, SHIFT's kernel, given D.
    call = Call(('alpha', 'C', 'D'), (0,), overwrite={'C': 'overwrite_c'}, elementwise=('C',))
    library = 'numpy'

    def __init__(self, alpha, D, C):
        name = type(self).__name__
        alpha = as_scalar(alpha, 'alpha', name)
        D, C = as_matrix(D, 'D', name), as_matrix(C, 'C', name)
        check_square(D, 'D', name)
        check_shapes(name, 'D', D, 'C', C, 0, 0)
        check_shapes(name, 'D', D, 'C', C, 1, 1)
        self._set(alpha, D, C, outputs=[add(C, multiply(alpha, D))])

    @property
    def flops(self):
        return 2 * self.C.shape[0]


class SYMMETRIZE(MatrixComputation):
    """``SymmetricLower(X)``: X's lower triangle copied onto its upper one (in X's buffer).

    >>> from sympy import MatrixSymbol
    >>> print(SYMMETRIZE(MatrixSymbol('X', 3, 3)))
    sym_lower(X) = SYMMETRIZE(X)
    """
    __slots__ = ()
    __props__ = ('X',)
    arguments = ('X',)
    overwrites = {0: 'X'}
    routine = 'symmetrize'
    library = 'numpy'

    def __init__(self, X):
        X = as_matrix(X, 'X', 'SYMMETRIZE')
        check_square(X, 'X', 'SYMMETRIZE')
        self._set(X, outputs=[SymmetricLower(X)])

    @property
    def flops(self):
        return 0


class CHOLESKY_ADJOINT(MatrixComputation):
    """``alpha*L.-T*SymmetricLower(L.T*B)*L.-1``: the adjoint of the Cholesky factorization.

    For ``L = LofCholesky(K)`` and ``B`` the adjoint of L (the gradient of
    a function with respect to L), ``alpha = 1/2`` gives the gradient with
    respect to K, a symmetric matrix (Murray 2016's formula, symmetrized:
    see :mod:`computations.matrices.gradients`).  The kernel does not form
    ``L.T*B``: it recurses on halves of L with SYMM, TRSM and GEMM calls,
    each diagonal block of at most 64 rows by TRMM and two TRSMs, for about
    twice the FLOPs of the factorization (:attr:`flops`).  Only L's and B's
    lower triangles are read.

    >>> from sympy import MatrixSymbol
    >>> from computations.matrices import LofCholesky
    >>> K, B = MatrixSymbol('K', 3, 3), MatrixSymbol('B', 3, 3)
    >>> print(CHOLESKY_ADJOINT(sympy.S.Half, LofCholesky(K), B))
    (1/2)*LofCholesky(K).T**(-1)*sym_lower(LofCholesky(K).T*B)*LofCholesky(K)**(-1) = \
CHOLESKY_ADJOINT(1/2, LofCholesky(K), B)
    """
    __slots__ = ()
    __props__ = ('alpha', 'L', 'B')
    arguments = ('alpha', 'L', 'B')
    overwrites = {0: 'B'}
    routine = 'cholesky_adjoint'
    library = 'numpy'

    def __init__(self, alpha, L, B):
        alpha = as_scalar(alpha, 'alpha', 'CHOLESKY_ADJOINT')
        L, B = as_matrix(L, 'L', 'CHOLESKY_ADJOINT'), as_matrix(B, 'B', 'CHOLESKY_ADJOINT')
        check_square(L, 'L', 'CHOLESKY_ADJOINT')
        check_shapes('CHOLESKY_ADJOINT', 'L', L, 'B', B, 0, 0)
        check_square(B, 'B', 'CHOLESKY_ADJOINT')
        value = alpha * L.T.I * SymmetricLower(L.T * B) * L.I
        self._set(alpha, L, B, outputs=[value])

    @property
    def triangles(self):
        return {'L': 'lower', 'B': 'lower'}

    @property
    def flops(self):
        n = self.L.shape[0]
        return 2 * n**3 / 3
