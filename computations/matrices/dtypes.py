"""The dtype rule of a call: what is computed as it is, what is converted, what is refused.

- float64 and float32 arrays are used as they are: a call whose matrices
  are all float32 runs the single-precision routines (``sgemm``,
  ``spotrf``...) and returns float32 results; any other mix runs in float64;
- integer (signed and unsigned) and float16 arrays are converted to
  float64 (exactly, for integers up to 2**53);
- complex arrays and scalars are refused with a :class:`DtypeError` naming
  the argument (the real routines would drop the imaginary part), and so
  are bool, object, string, bytes, datetime and structured arrays, and
  long doubles (whose extra precision the routines would drop).

One rule, read by every runner: the front door before compiling
(:mod:`computations.front_door.dtypes`), the in-process runners when they
convert an input (:mod:`computations.schedulers.execute`) and the dask-array
path (:mod:`computations.schedulers.dask_arrays`).
:class:`DtypeError` is both a ``TypeError`` (the argument has the wrong
type of element) and a ``ValueError`` (what earlier versions raised).

>>> refusal(np.dtype(np.float32)) is None, refusal(np.dtype(np.int8)) is None
(True, True)
>>> refusal(np.dtype(bool))
'is a bool array; give numbers (e.g. value.astype(float))'
"""
import numpy as np

from computations.graph import ComputationsError

__all__ = ['DtypeError', 'refusal', 'check', 'program_dtype']


class DtypeError(ComputationsError, TypeError, ValueError):
    """An argument whose elements the routines cannot compute with (complex, bool, object,
    strings...): the message names the argument and its dtype."""


def refusal(dtype):
    """Why a matrix input of ``dtype`` is refused (the end of a sentence that starts with
    the input's name), or None if it is computed."""
    kind = dtype.kind
    if kind == 'c':
        return (f'is complex ({dtype}); only real matrices are supported (pass value.real if '
                'the imaginary part is zero)')
    if kind == 'b':
        return 'is a bool array; give numbers (e.g. value.astype(float))'
    if kind == 'O':
        return ('is an object array; give an array of real numbers (e.g. '
                'value.astype(float))')
    if kind in 'USVMm':
        return f'must hold real numbers, got dtype {dtype}'
    if kind == 'f' and dtype.itemsize > 8:
        return (f'is {dtype}; the routines compute in float64 at most, which would drop its '
                'extra precision: convert it explicitly (value.astype(np.float64))')
    return None


def check(var, dtype):
    """Raise a :class:`DtypeError` naming the matrix input ``var`` if the rule refuses
    ``dtype``.

    >>> import numpy as np
    >>> check('M', np.dtype(complex))
    Traceback (most recent call last):
        ...
    computations.matrices.dtypes.DtypeError: input M is complex (complex128); only real matrices are supported (pass value.real if the imaginary part is zero)
    """
    problem = refusal(dtype)
    if problem:
        raise DtypeError(f'input {var} {problem}')


def program_dtype(dtypes):
    """The dtype a program runs in, given its matrix arguments' dtypes: float32 if every
    one is float32, else float64 (the rule above).

    >>> program_dtype([np.dtype(np.float32)] * 2), program_dtype([np.float32, np.int64])
    (dtype('float32'), dtype('float64'))
    >>> program_dtype([np.dtype('>f4')])          # float32 in either byte order
    dtype('float32')
    """
    dtypes = list(dtypes)
    return np.dtype(np.float32) if dtypes and all(map(_float32, dtypes)) \
        else np.dtype(np.float64)


def _float32(dtype):
    """Whether ``dtype`` is float32, native or byte-swapped."""
    if dtype == np.float32:
        return True
    dtype = np.dtype(dtype)
    return dtype.kind == 'f' and dtype.itemsize == 4

