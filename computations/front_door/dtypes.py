"""The front door's dtype check: each argument's dtype read (never converted, a dask array
never computed) and refused by name before anything is compiled, by the one rule of
:mod:`computations.matrices.dtypes`.

>>> import numpy as np, sympy
>>> M = sympy.MatrixSymbol('M', 2, 2)
>>> check_dtypes((M,), (np.eye(2, dtype=complex),))
Traceback (most recent call last):
    ...
computations.matrices.dtypes.DtypeError: input M is complex (complex128); only real matrices are supported (pass value.real if the imaginary part is zero)
"""
import numbers

import numpy as np
from sympy import MatrixExpr

from computations.matrices.dtypes import DtypeError, refusal

__all__ = ['DtypeError', 'check_dtypes']


def check_dtypes(inputs, values):
    """Raise a :class:`DtypeError` naming the first of ``values`` (given for ``inputs``)
    whose dtype the rule above refuses; read the dtype only (nothing is converted, dask
    arrays are not computed)."""
    for var, value in zip(inputs, values):
        dtype = _dtype(value)
        if dtype is None:
            continue
        problem = refusal(dtype) if isinstance(var, MatrixExpr) \
            else ('is complex; only real scalars are supported' if dtype.kind == 'c' else None)
        if problem:
            raise DtypeError(f'input {var} {problem}')


def _dtype(value):
    """The dtype of ``value`` without converting an array; None when NumPy cannot tell (a
    ragged list: the conversion names it later)."""
    dtype = getattr(value, 'dtype', None)
    if isinstance(dtype, np.dtype):
        return dtype
    if isinstance(value, numbers.Number):
        return np.dtype(complex) if isinstance(value, complex) else None
    if not (isinstance(value, (list, tuple)) or hasattr(type(value), '__array__')):
        return None       # not array-like (a dask Delayed...): the conversion names it later
    try:
        return np.asarray(value).dtype
    except Exception:  # ragged lists and the like
        return None
