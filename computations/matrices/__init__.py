"""The BLAS/LAPACK vocabulary: one Computation subclass per routine.

Arguments and outputs are SymPy matrix expressions; each class declares its
inplace map, its validity condition, its FLOP count and its routine's call
as data (see :mod:`computations.matrices.ops.core`).  The vocabulary is not
listed by hand: each module of :mod:`computations.matrices.ops` exports its
classes (its ``__all__``, re-exported here), and :data:`OPERATIONS` holds
every class defined, as the classes register themselves.

>>> from sympy import MatrixSymbol
>>> A, B = MatrixSymbol('A', 3, 3), MatrixSymbol('B', 3, 1)
>>> c = POTRF(A) + POTRS(A, B)
>>> c.inputs, c.outputs
((A, B), (A**(-1)*B,))
"""
from computations.matrices.errors import (NotPositiveDefiniteError, RoutineError,
                                          SingularExpressionError, SingularMatrixError)
from computations.matrices.expressions import LU, LofCholesky, LUPivots, SymmetricLower
from computations.matrices.ops import auxiliary, blas, lapack, scalars
from computations.matrices.ops.auxiliary import *  # noqa: F401,F403  (each module's __all__)
from computations.matrices.ops.blas import *  # noqa: F401,F403
from computations.matrices.ops.core import MatrixComputation, operations
from computations.matrices.ops.lapack import *  # noqa: F401,F403
from computations.matrices.ops.scalars import *  # noqa: F401,F403
from computations.matrices.transforms.streaming import STREAMED_SYRK, stream_congruences
from computations.matrices.compiler.driver import compile_expressions
from computations.matrices.compiler.properties import Properties
from computations.matrices.compiler.assumptions import positive_semidefinite

#: Every operation class of the vocabulary, discovered from the classes (in order of definition).
OPERATIONS = operations()

__all__ = ['MatrixComputation', 'OPERATIONS', 'STREAMED_SYRK', 'stream_congruences',
           'LofCholesky', 'LU', 'LUPivots', 'SymmetricLower', 'RoutineError',
           'NotPositiveDefiniteError', 'SingularMatrixError', 'SingularExpressionError',
           'compile_expressions', 'Properties', 'positive_semidefinite',
           *(name for module in (blas, lapack, auxiliary, scalars) for name in module.__all__)]
