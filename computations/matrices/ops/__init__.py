"""The operation vocabulary: one :class:`MatrixComputation` class per BLAS/LAPACK routine.

Each class declares, as data, its arguments, its mathematical outputs, its
inplace map, its validity condition and its FLOP count (:mod:`.core`);
:mod:`.blas` and :mod:`.lapack` hold the routines, :mod:`.scalars` the
scalar results of matrices, :mod:`.auxiliary` the steps that are not
routine calls.  The public names are re-exported by
:mod:`computations.matrices`.
"""
