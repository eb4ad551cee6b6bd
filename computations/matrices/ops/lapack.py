"""LAPACK operations: factorizations and solves, one class per routine.

The factors are first-class values: POTRF and POSV produce
``LofCholesky(A)``, which POTRS reads, so one factorization serves many
solves.

>>> from sympy import MatrixSymbol
>>> A, B = MatrixSymbol('A', 3, 3), MatrixSymbol('B', 3, 2)
>>> POSV(A, B).outputs, POSV(A, B).inplace
((A**(-1)*B, LofCholesky(A)), {0: 1, 1: 0})
>>> POTRS(A, B).inputs
(LofCholesky(A), B)
"""
import sympy
from sympy import Q
from sympy.matrices.expressions.factorizations import Factorization

from computations.matrices.ops.blas import TRSM, _Triangular
from computations.matrices.ops.algebra import solved, transpose_if
from computations.matrices.ops.core import (Call, MatrixComputation, as_flag, as_matrix, check_shapes,
                                            check_square)
from computations.matrices.ops.rates import Rate
from computations.matrices.errors import NotPositiveDefiniteError, SingularMatrixError
from computations.matrices.expressions import LU, LofCholesky, LUPivots

__all__ = ['POTRF', 'POTRS', 'POTRI', 'POSV', 'GETRF', 'GETRS', 'GESV', 'TRTRS', 'TRTRI', 'SYSV',
           'SYTRF', 'SYTRS', 'LDL', 'LDLPivots']


def _square(A, name):
    A = as_matrix(A, 'A', name)
    check_square(A, 'A', name)
    return A


def _system(A, B, name):
    """A square A and a right-hand side B with as many rows, or an error naming them."""
    A = _square(A, name)
    B = as_matrix(B, 'B', name)
    check_shapes(name, 'A', A, 'B', B, 1, 0)
    return A, B


class _Lapack(MatrixComputation):
    __slots__ = ()
    library = 'lapack'
    #: The error a positive LAPACK ``info`` means, and the argument it is about.
    failure = None

    def _solve_flops(self):
        """FLOPs of the two triangular solves with ``B``'s columns: 2 n^2 nrhs."""
        n, nrhs = self.B.shape
        return 2 * n**2 * nrhs

    def _solve_shape(self):
        """(the order, the right-hand sides): where a solve's ``rate`` (TRSM's) is read."""
        return self.B.shape


class _FactoredSolve(_Lapack):
    """A solve that reads factors of A made earlier (POTRS, GETRS): TRSMs, at their rate."""
    __slots__ = ()
    rate = TRSM.rate
    rate_shape = property(_Lapack._solve_shape)
    oriented = True

    @property
    def flops(self):
        return self._solve_flops()


class _ReadsCholeskyFactor(_Lapack):
    """An operation on A that reads A's Cholesky factor ``L`` (its lower triangle)."""
    __slots__ = ()

    @property
    def L(self):
        """The Cholesky factor this operation reads."""
        return LofCholesky(self.A)

    @property
    def triangles(self):
        return {'L': 'lower'}


class _ReadsLowerA(_Lapack):
    """An operation that reads only A's lower triangle (``lower=1``)."""
    __slots__ = ()

    @property
    def triangles(self):
        return {'A': 'lower'}


class POTRF(_ReadsLowerA):
    """Cholesky factorization of a symmetric positive definite A: ``LofCholesky(A)``, written into A.

    >>> from sympy import MatrixSymbol
    >>> POTRF(MatrixSymbol('A', 3, 3)).outputs
    (LofCholesky(A),)
    """
    __slots__ = ()
    __props__ = ('A',)
    arguments = ('A',)
    overwrites = {0: 'A'}
    requires = {'A': Q.positive_definite}
    failure = (NotPositiveDefiniteError, 'A')
    routine = 'potrf'
    rate = Rate((60, 0.25), (125, 0.25), (250, 0.21), (500, 0.27), (1000, 0.39), (2000, 0.51))
    #: The factor's upper triangle keeps A's values (``clean=0``: scipy would clear it, at
    #: O(n^2), for readers that read the lower one only): cleared for readers of the whole.
    call = Call(arguments, (0, 'info'), flags={'lower': 1, 'clean': 0},
                overwrite={'A': 'overwrite_a'}, clears=(0,))

    def __init__(self, A):
        A = _square(A, type(self).__name__)
        self._set(A, outputs=[LofCholesky(A)])

    @property
    def flops(self):
        n = self.A.shape[0]
        return sympy.Rational(1, 3) * n**3


class POTRS(_ReadsCholeskyFactor, _FactoredSolve):
    """Solve with a Cholesky factor: reads ``LofCholesky(A)`` and B, writes ``A.I*B`` into B.

    >>> from sympy import MatrixSymbol
    >>> POTRS(MatrixSymbol('A', 3, 3), MatrixSymbol('B', 3, 1)).outputs
    (A**(-1)*B,)
    """
    __slots__ = ()
    __props__ = ('A', 'B')
    arguments = ('L', 'B')
    overwrites = {0: 'B'}
    requires = {'A': Q.positive_definite}
    routine = 'potrs'
    call = Call(arguments, (0, 'info'), flags={'lower': 1}, overwrite={'B': 'overwrite_b'})

    def __init__(self, A, B):
        name = type(self).__name__
        A, B = _system(A, B, name)
        self._set(A, B, outputs=[solved(A, B)])


class POTRI(_ReadsCholeskyFactor):
    """The inverse of a symmetric positive definite A from its Cholesky factor, written into
    the factor's buffer: ``A.I`` at 2n^3/3 FLOPs (a solve with the identity takes 2n^3).

    >>> from sympy import MatrixSymbol
    >>> op = POTRI(MatrixSymbol('A', 3, 3))
    >>> op.inputs, op.outputs, op.inplace
    ((LofCholesky(A),), (A**(-1),), {0: 0})
    """
    __slots__ = ()
    __props__ = ('A',)
    arguments = ('L',)
    overwrites = {0: 'L'}
    requires = {'A': Q.positive_definite}
    failure = (SingularMatrixError, 'A')
    routine = 'potri'
    rate = Rate((60, 0.18), (125, 0.16), (250, 0.25), (500, 0.37), (1000, 0.50), (2000, 0.61))
    symmetric_outputs = (0,)
    call = Call(arguments, (0, 'info'), flags={'lower': 1}, overwrite={'L': 'overwrite_c'})
    #: An explicit inverse: the search forms one only when the result itself is one.
    forms_inverse = True

    def __init__(self, A):
        A = _square(A, type(self).__name__)
        self._set(A, outputs=[A.I])

    @property
    def flops(self):
        n = self.A.shape[0]
        return sympy.Rational(2, 3) * n**3


class POSV(_ReadsLowerA):
    """Solve with a symmetric positive definite A: ``A.I*B`` into B, ``LofCholesky(A)`` into A.

    >>> from sympy import MatrixSymbol
    >>> POSV(MatrixSymbol('A', 3, 3), MatrixSymbol('B', 3, 2)).flops
    45
    """
    __slots__ = ()
    __props__ = ('A', 'B')
    arguments = ('A', 'B')
    overwrites = {0: 'B', 1: 'A'}
    requires = {'A': Q.positive_definite}
    failure = (NotPositiveDefiniteError, 'A')
    routine = 'posv'
    #: The factor's upper triangle keeps A's old values: cleared for readers of the whole.
    call = Call(arguments, (1, 0, 'info'), flags={'lower': 1},
                overwrite={'A': 'overwrite_a', 'B': 'overwrite_b'}, clears=(1,))

    def __init__(self, A, B):
        name = type(self).__name__
        A, B = _system(A, B, name)
        self._set(A, B, outputs=[solved(A, B), LofCholesky(A)])

    @property
    def flops(self):
        return sympy.Rational(1, 3) * self.A.shape[0]**3 + self._solve_flops()


class GETRF(_Lapack):
    """LU factorization with partial pivoting: ``LU(A)`` into A, and ``LUPivots(A)``.

    >>> from sympy import MatrixSymbol
    >>> GETRF(MatrixSymbol('A', 3, 3)).outputs
    (LU(A), LUPivots(A))
    """
    __slots__ = ()
    __props__ = ('A',)
    arguments = ('A',)
    overwrites = {0: 'A'}
    requires = {'A': Q.invertible}
    #: A positive info (an exact zero on U's diagonal) is no failure: the factorization is
    #: complete, its determinant is 0 (LU_DETERMINANT), and the solves reading it check that
    #: diagonal first (GETRS; GESV fails itself).
    failure = None
    routine = 'getrf'
    rate = Rate((60, 0.33), (125, 0.27), (250, 0.23), (500, 0.25), (1000, 0.36), (2000, 0.56))
    call = Call(arguments, (0, 1, 'info'), overwrite={'A': 'overwrite_a'})

    def __init__(self, A):
        A = _square(A, type(self).__name__)
        self._set(A, outputs=[LU(A), LUPivots(A)])

    @property
    def flops(self):
        n = self.A.shape[0]
        return sympy.Rational(2, 3) * n**3


class GETRS(_FactoredSolve):
    """Solve with LU factors: reads ``LU(A)``, ``LUPivots(A)`` and B, writes ``op(A).I*B`` into B.

    >>> from sympy import MatrixSymbol
    >>> GETRS(MatrixSymbol('A', 3, 3), MatrixSymbol('B', 3, 1), trans=True).outputs
    (A.T**(-1)*B,)
    """
    __slots__ = ()
    __props__ = ('A', 'B', 'trans')
    arguments = ('LU', 'pivots', 'B')
    overwrites = {0: 'B'}
    requires = {'A': Q.invertible}
    failure = (SingularMatrixError, 'A')
    routine = 'getrs'
    #: GETRF leaves a singular U to its readers: a solve checks U's diagonal (GETRS would
    #: divide by its zero).
    checks_diagonal = True
    #: OpenBLAS's dgetrs writes into ipiv while it runs (and restores it): two GETRS
    #: reading one LU's pivots on two threads gave wrong solves (2026-12-05).
    call = Call(arguments, (0, 'info'), flags={'trans': 'trans'}, overwrite={'B': 'overwrite_b'},
                diagonal='LU', scratch=('pivots',))

    def __init__(self, A, B, trans=False):
        name = type(self).__name__
        A, B = _system(A, B, name)
        trans = as_flag(trans, 'trans', name)
        self._set(A, B, trans, outputs=[solved(transpose_if(trans, A), B)])

    @property
    def LU(self):
        """The packed LU factors this solve reads."""
        return LU(self.A)

    @property
    def pivots(self):
        """The pivots this solve reads."""
        return LUPivots(self.A)


class GESV(_Lapack):
    """Solve with a general square A: ``A.I*B`` into B, ``LU(A)`` into A, and ``LUPivots(A)``.

    >>> from sympy import MatrixSymbol
    >>> GESV(MatrixSymbol('A', 3, 3), MatrixSymbol('B', 3, 1)).inplace
    {0: 1, 1: 0}
    """
    __slots__ = ()
    __props__ = ('A', 'B')
    arguments = ('A', 'B')
    overwrites = {0: 'B', 1: 'A'}
    requires = {'A': Q.invertible}
    failure = (SingularMatrixError, 'A')
    routine = 'gesv'
    call = Call(arguments, (1, 2, 0, 'info'), overwrite={'A': 'overwrite_a', 'B': 'overwrite_b'})

    def __init__(self, A, B):
        name = type(self).__name__
        A, B = _system(A, B, name)
        self._set(A, B, outputs=[solved(A, B), LU(A), LUPivots(A)])

    @property
    def flops(self):
        return sympy.Rational(2, 3) * self.A.shape[0]**3 + self._solve_flops()


class TRTRS(_Lapack, _Triangular):
    """Triangular solve with a check for a singular A: ``op(A).I*B``, written into B.

    >>> from sympy import MatrixSymbol
    >>> TRTRS(MatrixSymbol('U', 3, 3), MatrixSymbol('B', 3, 1), lower=False).condition
    Q.upper_triangular(U)
    """
    __slots__ = ()
    __props__ = ('A', 'B', 'lower', 'trans', 'unit_diagonal')
    arguments = ('A', 'B')
    overwrites = {0: 'B'}
    failure = (SingularMatrixError, 'A')
    routine = 'trtrs'
    rate = TRSM.rate                  # TRSM with a check of A's diagonal
    rate_shape = property(_Lapack._solve_shape)
    oriented = True
    call = Call(arguments, (0, 'info'),
                flags={'lower': 'lower', 'trans': 'trans', 'unitdiag': 'unit_diagonal'},
                overwrite={'B': 'overwrite_b'})

    def __init__(self, A, B, lower=True, trans=False, unit_diagonal=False):
        name = type(self).__name__
        A, B = _system(A, B, name)
        lower = as_flag(lower, 'lower', name)
        trans = as_flag(trans, 'trans', name)
        unit_diagonal = as_flag(unit_diagonal, 'unit_diagonal', name)
        self._set(A, B, lower, trans, unit_diagonal, outputs=[solved(transpose_if(trans, A), B)])

    @property
    def flops(self):
        return self._solve_flops() / 2


class TRTRI(_Lapack, _Triangular):
    """The inverse of a triangular A, written into A: ``A.I`` (triangular too) at n^3/3 FLOPs.

    LAPACK leaves the other triangle of A's buffer as it was: zero when A's
    buffer holds the whole triangular matrix; when it holds A's triangle
    only (a factor POSV or POTRF left), the executors clear the other one
    for readers of the whole matrix.

    >>> from sympy import MatrixSymbol
    >>> L = MatrixSymbol('L', 3, 3)
    >>> TRTRI(L).outputs, TRTRI(L).inplace, TRTRI(L).flops
    ((L**(-1),), {0: 0}, 9)
    """
    __slots__ = ()
    __props__ = ('A', 'lower', 'unit_diagonal')
    arguments = ('A',)
    overwrites = {0: 'A'}
    failure = (SingularMatrixError, 'A')
    routine = 'trtri'
    rate = Rate((60, 0.17), (125, 0.13), (250, 0.21), (500, 0.29), (1000, 0.41), (2000, 0.51))
    #: The other triangle is A's: zero for a triangular A stored whole, else cleared for
    #: readers of the whole.
    call = Call(arguments, (0, 'info'), flags={'lower': 'lower', 'unitdiag': 'unit_diagonal'},
                overwrite={'A': 'overwrite_c'}, clears=(0,), inherits=(0,))
    #: An explicit inverse: the search prefers a solve unless the result itself is one.
    forms_inverse = True

    def __init__(self, A, lower=True, unit_diagonal=False):
        name = type(self).__name__
        A = _square(A, name)
        lower = as_flag(lower, 'lower', name)
        unit_diagonal = as_flag(unit_diagonal, 'unit_diagonal', name)
        self._set(A, lower, unit_diagonal, outputs=[A.I])

    @property
    def flops(self):
        n = self.A.shape[0]
        return sympy.Rational(1, 3) * n**3


class LDL(Factorization):
    """The symmetric indefinite factorization ``A = U*D*U.T`` (Bunch-Kaufman), packed in
    A's upper triangle as LAPACK's ``sytrf`` and ``sysv`` leave it (pivots apart)."""


class LDLPivots(Factorization):
    """The pivots of :class:`LDL` (LAPACK's ipiv, as ``sytrf`` returns and ``sytrs`` reads
    them: integers, negative for a 2 x 2 block)."""
    element_type = 'int32'

    @property
    def shape(self):
        return (self.arg.shape[0], 1)


class SYTRF(_Lapack):
    """Symmetric indefinite factorization: ``LDL(A)`` into A, and ``LDLPivots(A)``.

    Made when several solves share the symmetric A (``(K + s*I).I*(K + s*I).I*y``): each
    is then a SYTRS, and one of them is fused back into a SYSV.

    >>> from sympy import MatrixSymbol
    >>> op = SYTRF(MatrixSymbol('S', 3, 3))
    >>> op.outputs, op.condition, op.flops
    ((LDL(S), LDLPivots(S)), Q.symmetric(S), 9)
    """
    __slots__ = ()
    __props__ = ('A',)
    arguments = ('A',)
    overwrites = {0: 'A'}
    requires = {'A': Q.symmetric}
    failure = (SingularMatrixError, 'A')
    routine = 'sytrf'
    rate = Rate((60, 0.17), (125, 0.18), (250, 0.17), (500, 0.18), (1000, 0.25), (2000, 0.31))
    call = Call(arguments, (0, 1, 'info'), overwrite={'A': 'overwrite_a'},
                workspace={'lwork': 'sytrf_lwork'})

    def __init__(self, A):
        A = _square(A, type(self).__name__)
        self._set(A, outputs=[LDL(A), LDLPivots(A)])

    @property
    def flops(self):
        return sympy.Rational(1, 3) * self.A.shape[0]**3


class SYTRS(_FactoredSolve):
    """Solve with symmetric indefinite factors: reads ``LDL(A)``, ``LDLPivots(A)`` and B,
    writes ``A.I*B`` into B.

    >>> from sympy import MatrixSymbol
    >>> SYTRS(MatrixSymbol('S', 3, 3), MatrixSymbol('B', 3, 1)).outputs
    (S**(-1)*B,)
    """
    __slots__ = ()
    __props__ = ('A', 'B')
    arguments = ('LDL', 'pivots', 'B')
    overwrites = {0: 'B'}
    requires = {'A': Q.symmetric}
    routine = 'sytrs'
    #: LAPACK's SYTRS is level 2 (0.08-0.5 of GEMM): priced by FLOPs, as before the rates,
    #: not as the TRSMs of POTRS and GETRS (a symmetric indefinite system keeps SYSV), and
    #: whatever its result's orientation.
    rate = None
    oriented = False
    call = Call(arguments, (0, 'info'), overwrite={'B': 'overwrite_b'})

    def __init__(self, A, B):
        A, B = _system(A, B, type(self).__name__)
        self._set(A, B, outputs=[solved(A, B)])

    @property
    def LDL(self):
        """The packed factors this solve reads."""
        return LDL(self.A)

    @property
    def pivots(self):
        """The pivots this solve reads."""
        return LDLPivots(self.A)


class SYSV(_Lapack):
    """Solve with a symmetric, possibly indefinite A: ``A.I*B`` into B, ``LDL(A)`` into A.

    >>> from sympy import MatrixSymbol
    >>> op = SYSV(MatrixSymbol('S', 3, 3), MatrixSymbol('B', 3, 2))
    >>> op.outputs, op.inplace, op.condition, op.flops
    ((S**(-1)*B, LDL(S), LDLPivots(S)), {0: 1, 1: 0}, Q.symmetric(S), 45)
    """
    __slots__ = ()
    __props__ = ('A', 'B')
    arguments = ('A', 'B')
    overwrites = {0: 'B', 1: 'A'}
    requires = {'A': Q.symmetric}
    failure = (SingularMatrixError, 'A')
    routine = 'sysv'
    call = Call(arguments, (1, 2, 0, 'info'), overwrite={'A': 'overwrite_a', 'B': 'overwrite_b'},
                workspace={'lwork': 'sysv_lwork'})

    def __init__(self, A, B):
        A, B = _system(A, B, type(self).__name__)
        self._set(A, B, outputs=[solved(A, B), LDL(A), LDLPivots(A)])

    @property
    def flops(self):
        return sympy.Rational(1, 3) * self.A.shape[0]**3 + self._solve_flops()
