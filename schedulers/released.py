"""The level-3 BLAS routines and the Cholesky factorization, called without the GIL.

SciPy's f2py wrappers (``scipy.linalg.blas.dgemm``...) hold Python's global
interpreter lock for the whole routine: a 2000 x 2000 DGEMM on one thread
(0.23 s here) stops every other thread of the process.  On a Dask worker
that is the thread serving the other workers' requests for data, so while a
block operation runs the other worker waits for its inputs (the Kalman
update on dask arrays at chunks of 2000: workers busy 72-86% of the time,
against 95-98% for dask.array's own operations, whose NumPy ``matmul``
releases the lock); under ``scheduler='threads'`` two block operations never
ran at once.

:func:`released` gives, for the wrappers below, a function with the
wrapper's own signature (positional order and keywords, read from its
docstring like :func:`~computations.schedulers.calls.wrapper_parameters`)
that calls the same Fortran routine through the function pointer SciPy
exports for Cython (``scipy.linalg.cython_blas``, ``cython_lapack``) with
:mod:`ctypes`, which releases the lock during a foreign call -- where that cannot
oversubscribe the cores (:func:`may_release`: BLAS on one thread, as in a
``distributed`` worker, or a thread-pool run that divided the BLAS threads);
elsewhere each call already uses every core, and the wrapper runs it.  It does what
the wrapper does -- the output allocated (zeros) or copied unless its
``overwrite_*`` flag is set and the array is Fortran-ordered, aligned and writeable,
inputs converted to Fortran order -- and hands anything it does not handle
(another dtype, a shape the wrapper would reject, a flag out of its range or not an
``int``, a scalar that is not a real number, an argument given twice) to the
wrapper itself, so errors and conversions are the wrapper's.  One difference, on
purpose: a read-only array with its ``overwrite_*`` flag set is copied, where f2py
writes into it.  ``tests/test_released.py`` checks every routine
against its wrapper, by hypothesis over shapes, flags and layouts.

>>> import numpy as np
>>> from scipy.linalg import blas
>>> a, b = np.asfortranarray(np.arange(6.).reshape(2, 3)), np.ones((3, 2), order='F')
>>> gemm = released(blas.dgemm, minimum=0)
>>> np.array_equal(gemm(1.0, a, b), blas.dgemm(1.0, a, b))
True
"""
import ctypes
import functools
import numbers

import numpy as np
from scipy.linalg import cython_blas, cython_lapack

from .blas_threads import DIVIDING, blas_threads

__all__ = ['released', 'may_release', 'MINIMUM']

#: The work (m * n * k, roughly) below which the wrapper is called as it is: a call
#: through ctypes costs about 15 us more than the wrapper's (measured on an 8 x 8 DGEMM),
#: a few percent of a routine of this size, which holds the lock for well under a
#: millisecond.
MINIMUM = 128 ** 3

_CAPSULE_NAME = ctypes.pythonapi.PyCapsule_GetName
_CAPSULE_NAME.restype, _CAPSULE_NAME.argtypes = ctypes.c_char_p, [ctypes.py_object]
_CAPSULE_POINTER = ctypes.pythonapi.PyCapsule_GetPointer
_CAPSULE_POINTER.restype = ctypes.c_void_p
_CAPSULE_POINTER.argtypes = [ctypes.py_object, ctypes.c_char_p]


@functools.lru_cache(maxsize=None)
def _fortran(library, name, count):
    """The Fortran routine ``name`` of SciPy's BLAS or LAPACK as a ctypes function of
    ``count`` pointer arguments (Fortran passes every argument by reference)."""
    capsule = _capsule(library, name)
    signature = _signature(capsule)
    if len(signature) != count:
        raise RuntimeError(f'{name}: SciPy exports it with {len(signature)} arguments, '
                           f'this module passes {count}')
    pointer = _CAPSULE_POINTER(capsule, _CAPSULE_NAME(capsule))
    return ctypes.CFUNCTYPE(None, *[ctypes.c_void_p] * count)(pointer)


def _capsule(library, name):
    return (cython_blas if library == 'blas' else cython_lapack).__pyx_capi__[name]


def _signature(capsule):
    """The argument types of an exported routine, from its capsule's name (``'void
    (char *, int *, ...)'``)."""
    name = _CAPSULE_NAME(capsule).decode()
    return [part.strip() for part in name[name.index('(') + 1:name.rindex(')')].split(',')]


def _passes_as_expected(library, name):
    """Whether SciPy exports ``name`` as this module calls it: every argument a pointer to
    a ``char``, a 32-bit ``int`` or the routine's own float (a SciPy built with 64-bit
    BLAS integers would not, and the call would read past its integers)."""
    floats = f'_{name[0]} *'
    return all(kind in ('char *', 'int *') or kind.endswith(floats)
               for kind in _signature(_capsule(library, name)))


def may_release():
    """Whether a long call should let other threads run: when a run has divided the BLAS
    threads among its threads (:data:`~.blas_threads.DIVIDING`), or BLAS runs on one
    thread (a ``distributed`` worker, or a limit the user set).  Otherwise each call uses
    every BLAS thread, and two at once oversubscribe the cores: the Kalman update on dask
    arrays (n = 2000, chunks of 500) took 0.43 s on Dask's thread pool with the GIL
    released, 0.31 s one call at a time.

    >>> from threadpoolctl import threadpool_limits
    >>> with threadpool_limits(1, user_api='blas'):
    ...     may_release()
    True
    """
    return DIVIDING['runs'] > 0 or blas_threads() <= 1


_SCALAR = {'d': ctypes.c_double, 's': ctypes.c_float}
_DTYPE = {'d': np.float64, 's': np.float32}


class _Call:
    """The arguments of one call: Fortran-ordered arrays kept alive, scalars by reference."""

    def __init__(self, typecode):
        self.typecode, self.kept = typecode, []

    def char(self, letter):
        value = ctypes.c_char(letter.encode())
        self.kept.append(value)
        return ctypes.addressof(value)

    def int(self, value):
        value = ctypes.c_int(int(value))
        self.kept.append(value)
        return ctypes.addressof(value)

    def scalar(self, value):
        value = _SCALAR[self.typecode](value)
        self.kept.append(value)
        return ctypes.addressof(value)

    def array(self, a):
        self.kept.append(a)
        return a.ctypes.data

    def lead(self, a):
        return self.int(max(1, a.shape[0]))


def _input(a, dtype):
    """``a`` as the routine reads it: Fortran-ordered, aligned, of ``dtype`` (a copy only
    if needed, as f2py makes one)."""
    return np.require(a, dtype=dtype, requirements=['F', 'A'])


def _output(c, dtype, overwrite, shape):
    """The array the routine writes: ``c`` itself when it may be overwritten and can be,
    a Fortran copy of it otherwise, zeros when there is none."""
    if c is None:
        return np.zeros(shape, dtype=dtype, order='F')
    if (overwrite and c.dtype == dtype and c.flags.f_contiguous and c.flags.writeable
            and c.flags.aligned):
        return c
    return np.array(c, dtype=dtype, order='F', copy=True)


_TRANS, _UPLO, _SIDE, _DIAG = 'NTC', 'UL', 'LR', 'NU'


def _gemm(call, alpha, a, b, beta=0.0, c=None, trans_a=0, trans_b=0, overwrite_c=0):
    m, k = a.shape[::-1] if trans_a else a.shape
    kb, n = b.shape[::-1] if trans_b else b.shape
    if kb != k or (c is not None and c.shape != (m, n)):
        return None
    dtype = _DTYPE[call.typecode]
    a, b = _input(a, dtype), _input(b, dtype)
    c = _output(c, dtype, overwrite_c, (m, n))
    return (c, (call.char(_TRANS[trans_a]), call.char(_TRANS[trans_b]), call.int(m),
                call.int(n), call.int(k), call.scalar(alpha), call.array(a), call.lead(a),
                call.array(b), call.lead(b), call.scalar(beta), call.array(c), call.lead(c)))


def _symm(call, alpha, a, b, beta=0.0, c=None, side=0, lower=0, overwrite_c=0):
    m, n = b.shape
    if a.shape != ((n, n) if side else (m, m)) or (c is not None and c.shape != (m, n)):
        return None
    dtype = _DTYPE[call.typecode]
    a, b = _input(a, dtype), _input(b, dtype)
    c = _output(c, dtype, overwrite_c, (m, n))
    return (c, (call.char(_SIDE[side]), call.char(_UPLO[lower]), call.int(m), call.int(n),
                call.scalar(alpha), call.array(a), call.lead(a), call.array(b), call.lead(b),
                call.scalar(beta), call.array(c), call.lead(c)))


def _syrk(call, alpha, a, beta=0.0, c=None, trans=0, lower=0, overwrite_c=0):
    n, k = a.shape[::-1] if trans else a.shape
    if c is not None and c.shape != (n, n):
        return None
    dtype = _DTYPE[call.typecode]
    a = _input(a, dtype)
    c = _output(c, dtype, overwrite_c, (n, n))
    return (c, (call.char(_UPLO[lower]), call.char(_TRANS[trans]), call.int(n), call.int(k),
                call.scalar(alpha), call.array(a), call.lead(a), call.scalar(beta),
                call.array(c), call.lead(c)))


def _triangular(call, alpha, a, b, side=0, lower=0, trans_a=0, diag=0, overwrite_b=0):
    """TRSM's and TRMM's arguments (they are the same)."""
    m, n = b.shape
    if a.shape != ((n, n) if side else (m, m)):
        return None
    dtype = _DTYPE[call.typecode]
    a = _input(a, dtype)
    b = _output(b, dtype, overwrite_b, (m, n))
    return (b, (call.char(_SIDE[side]), call.char(_UPLO[lower]), call.char(_TRANS[trans_a]),
                call.char(_DIAG[diag]), call.int(m), call.int(n), call.scalar(alpha),
                call.array(a), call.lead(a), call.array(b), call.lead(b)))


def _potrf(call, a, lower=0, clean=1, overwrite_a=0):
    n = a.shape[0]
    if a.shape != (n, n):
        return None
    c = _output(a, _DTYPE[call.typecode], overwrite_a, (n, n))
    info = ctypes.c_int(0)
    call.kept.append(info)
    return (c, (call.char(_UPLO[lower]), call.int(n), call.array(c), call.lead(c),
                ctypes.addressof(info)), info, lower, clean)


# name: (library, argument builder, ``work(*args)``: the size of the call)
_ROUTINES = {
    'gemm': ('blas', _gemm, lambda a, b, *_: a.shape[0] * a.shape[1] * max(b.shape)),
    'symm': ('blas', _symm, lambda a, b, *_: a.shape[0] * b.shape[0] * b.shape[1]),
    'syrk': ('blas', _syrk, lambda a, *_: a.shape[0] * a.shape[1] * max(a.shape)),
    'trsm': ('blas', _triangular, lambda a, b, *_: a.shape[0] * b.shape[0] * b.shape[1]),
    'trmm': ('blas', _triangular, lambda a, b, *_: a.shape[0] * b.shape[0] * b.shape[1]),
    'potrf': ('lapack', _potrf, lambda a, *_: a.shape[0] ** 3 // 3),
}


def released(wrapper, minimum=MINIMUM):
    """A function with ``wrapper``'s signature that releases the GIL while the routine
    runs, for calls of at least ``minimum`` work; ``wrapper`` itself when it is not one
    of the routines this module knows (``dgemm``, ``ssymm``, ``dpotrf``...).

    >>> from scipy.linalg import blas
    >>> released(blas.dgemv) is blas.dgemv
    True
    """
    typecode, name = _typecode_and_name(wrapper)
    if typecode not in _DTYPE or name not in _ROUTINES:
        return wrapper
    return _released(wrapper, minimum)


def _is_matrix(a):
    """Whether ``a`` is what the routines read as it is: a 2-D float ndarray (anything
    else, f2py converts or refuses)."""
    return type(a) is np.ndarray and a.ndim == 2 and a.dtype.kind == 'f'


#: The flags that pick a letter (trans: N, T, C; the others two letters), and the values
#: f2py allows them; other flags (overwrite_*, clean) are any integer.
_LETTER_FLAGS = {'trans_a': 3, 'trans_b': 3, 'trans': 3, 'side': 2, 'lower': 2, 'diag': 2}
_SCALARS = ('alpha', 'beta')


def _plain(parameters, args, kwargs):
    """The call's arguments by name when this module passes them as they are, else None
    (the wrapper then takes the call and answers as it does): an argument given by
    position and by keyword (f2py's TypeError), a flag that is not an integer in f2py's
    range (``trans_a=3``, ``lower=-1``: its error; ``1.0``, ``np.True_``: its
    conversion), a scalar that is not a real number (``alpha=np.ones(1)``, ``'2'``), or
    a ``c`` that is not a 2-D float ndarray (a list: its conversion).  ``None`` is an
    argument not given, as for f2py."""
    bound = dict(zip(parameters, args))
    if not bound.keys().isdisjoint(kwargs):
        return None
    bound.update(kwargs)
    bound = {name: value for name, value in bound.items() if value is not None}
    for name, value in bound.items():
        if name in _SCALARS:
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
                return None
        elif name in ('a', 'b', 'c'):
            if not _is_matrix(value):
                return None
        elif type(value) not in (int, bool):  # a flag: f2py's int() of anything else
            return None
        elif not 0 <= value < _LETTER_FLAGS.get(name, 2 ** 31):
            return None
    return bound


def _typecode_and_name(wrapper):
    """``('d', 'gemm')`` for ``dgemm`` (f2py names it ``'function dgemm'``)."""
    full = (getattr(wrapper, '__name__', None) or ' ').split()[-1]
    return full[:1], full[1:]


@functools.lru_cache(maxsize=None)
def _released(wrapper, minimum):
    from computations.schedulers.calls import wrapper_parameters, zero_lower, zero_upper
    typecode, name = _typecode_and_name(wrapper)
    library, build, work = _ROUTINES[name]
    if not _passes_as_expected(library, typecode + name):
        return wrapper
    parameters = wrapper_parameters(wrapper)
    first = 0 if name == 'potrf' else 1                 # the arrays follow alpha
    last = first + (1 if name in ('syrk', 'potrf') else 2)

    def call(*args, **kwargs):
        # the cheap test first: most calls below the minimum pass their arrays by position
        given = args[first:last] if len(args) >= last else \
            [dict(zip(parameters, args), **kwargs).get(p) for p in parameters[first:last]]
        try:
            small = work(*given) < max(minimum, 1)         # an empty one too
        except (AttributeError, TypeError, IndexError):     # not matrices: the wrapper's say
            small = True
        if (small or len(args) > len(parameters) or not set(kwargs) <= set(parameters)
                or not all(_is_matrix(a) for a in given) or not may_release()):
            return wrapper(*args, **kwargs)
        bound = _plain(parameters, args, kwargs)
        if bound is None:                     # an argument f2py converts or refuses
            return wrapper(*args, **kwargs)
        arguments = _Call(typecode)            # keeps the scalars alive through the call
        made = build(arguments, **bound)
        if made is None:                      # a shape the wrapper rejects: its error
            return wrapper(*args, **kwargs)
        result, pointers, *rest = made
        _fortran(library, typecode + name, len(pointers))(*pointers)
        if name != 'potrf':
            return result
        info, lower, clean = rest
        if clean:                             # the wrapper clears the other triangle
            (zero_upper if lower else zero_lower)(result)
        return result, info.value

    call.__name__, call.__doc__, call.typecode = wrapper.__name__, wrapper.__doc__, typecode
    return call
