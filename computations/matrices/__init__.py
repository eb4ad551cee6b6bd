"""The BLAS/LAPACK vocabulary: one Computation subclass per routine.

Arguments and outputs are SymPy matrix expressions; each class declares its
inplace map, its validity condition and its FLOP count as data (see
:mod:`computations.matrices.ops.core`).

>>> from sympy import MatrixSymbol
>>> A, B = MatrixSymbol('A', 3, 3), MatrixSymbol('B', 3, 1)
>>> c = POTRF(A) + POTRS(A, B)
>>> c.inputs, c.outputs
((A, B), (A**(-1)*B,))
"""
from computations.matrices.ops.auxiliary import CHOLESKY_ADJOINT, SCALAR, SYMMETRIZE, TRANSPOSE
from computations.matrices.ops.blas import AXPY, COPY, GEMM, GEMV, SCAL, SYMM, SYRK, TRMM, TRSM
from computations.matrices.ops.core import MatrixComputation
from computations.matrices.errors import (NotPositiveDefiniteError, RoutineError, SingularExpressionError,
                     SingularMatrixError)
from computations.matrices.expressions import LU, LofCholesky, LUPivots, SymmetricLower
from computations.matrices.ops.lapack import GESV, GETRF, GETRS, POSV, POTRF, POTRI, POTRS, TRTRI, TRTRS
from computations.matrices.ops.scalars import (CHOLESKY_DETERMINANT, ELEMENT, INNER, LU_DETERMINANT, TRACE,
                      NotPositiveDeterminantError)
from computations.matrices.transforms.streaming import STREAMED_SYRK, stream_congruences
from computations.matrices.compiler.driver import compile_expressions
from computations.matrices.compiler.properties import Properties

__all__ = ['MatrixComputation', 'GEMM', 'SYMM', 'SYRK', 'GEMV', 'AXPY', 'SCAL', 'COPY',
           'TRMM', 'TRSM', 'POTRF', 'POTRS', 'POTRI', 'POSV', 'GETRF', 'GETRS', 'GESV', 'TRTRS',
           'TRTRI', 'STREAMED_SYRK', 'stream_congruences',
           'LofCholesky', 'LU', 'LUPivots', 'RoutineError', 'NotPositiveDefiniteError',
           'SingularMatrixError', 'SingularExpressionError', 'TRANSPOSE', 'SCALAR', 'OPERATIONS',
           'compile_expressions',
           'Properties', 'SymmetricLower', 'SYMMETRIZE', 'CHOLESKY_ADJOINT', 'TRACE', 'INNER',
           'ELEMENT', 'CHOLESKY_DETERMINANT', 'LU_DETERMINANT', 'NotPositiveDeterminantError']

#: Every operation class of the vocabulary.
OPERATIONS = (GEMM, SYMM, SYRK, GEMV, AXPY, SCAL, COPY, TRMM, TRSM,
              POTRF, POTRS, POTRI, POSV, GETRF, GETRS, GESV, TRTRS, TRANSPOSE, SYMMETRIZE,
              CHOLESKY_ADJOINT, TRACE, INNER, ELEMENT, CHOLESKY_DETERMINANT, LU_DETERMINANT,
              TRTRI, STREAMED_SYRK)
