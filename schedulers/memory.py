"""Working memory of a token program: how many bytes are live at each step of an order.

The model follows what the executors do.  A buffer (token) is allocated
when an operation writes a value into a token that holds nothing (an
overwrite writes into its input's buffer and allocates nothing), and it is
freed after the last reader of the last value it holds, unless a later
operation writes into it again (buffer reuse, :func:`~computations.schedulers.reuse.reuse_buffers`).  The
caller's arrays cost nothing; returned values stay live to the end.  Sizes
come from the values' shapes with the dimensions bound (:class:`Sizes`).  The
rules are those of the one buffer-state model,
:mod:`computations.inplace.buffers`, which the checker, the interpreter, the
memory-aware order and the generated source also read.
An operation that declares a ``workspace`` (elements it holds while it
runs, such as STREAMED_SYRK's panels) adds it to its step.  Not modelled:
other temporaries inside one step, at most :data:`TRANSIENT_BYTES` (the
kernels' triangle copies work in 64 x 64 blocks).

>>> import sympy
>>> from computations.matrices import GEMM
>>> from computations.inplace import inplace_compile
>>> A = sympy.MatrixSymbol('A', 100, 100)
>>> program = inplace_compile(GEMM(1, A, A) + GEMM(1, A*A, A))
>>> order = program.toposort()
>>> timeline(program, order, Sizes({})).during      # bytes live while each step runs
(80000, 160000)
>>> peak_bytes(program, order, Sizes({}))
160000
"""
import dataclasses
import gc
import resource
import tracemalloc

import numpy as np

from computations.inplace import buffer_states
from computations.sizes import Binding

__all__ = ['Sizes', 'Timeline', 'timeline', 'peak_bytes', 'traced_peak', 'TRANSIENT_BYTES',
           'available_bytes']

#: The most bytes a step allocates and frees within itself (not modelled).
TRANSIENT_BYTES = 64 * 1024


class Sizes:
    """Shapes and bytes of values, with the symbolic dimensions bound by ``dims``.

    ``dims`` maps dimension symbols to integers (or is a
    :class:`computations.sizes.Binding`, which evaluates every size).  Matrices
    take ``dtype``'s item size; integer matrices (LU pivots, whose expression
    has ``element_type``) theirs; scalars count as zero bytes (a Python float).
    A shape with unbound dimensions raises
    :class:`computations.sizes.UnboundSizeError`.

    >>> import sympy
    >>> n = sympy.Symbol('n')
    >>> sizes = Sizes({n: 3})
    >>> sizes.shape(sympy.MatrixSymbol('A', n, 2)), sizes.nbytes(sympy.MatrixSymbol('A', n, 2))
    ((3, 2), 48)
    """

    def __init__(self, dims, dtype=np.float64):
        self.binding = dims if isinstance(dims, Binding) else Binding(dims)
        self.dims = self.binding.dims
        self.dtype = np.dtype(dtype)
        self._shapes = {}

    def shape(self, expr):
        """The numeric shape of a matrix value, or None for a scalar."""
        try:
            return self._shapes[expr]
        except KeyError:                    # (Binding.shape names the value: slow to repeat)
            shape = self._shapes[expr] = self.binding.shape(expr)
            return shape

    def dtype_of(self, expr):
        """The dtype a matrix value is stored in."""
        return np.dtype(getattr(expr, 'element_type', self.dtype))

    def key(self, expr):
        """``(shape, dtype)``: values with equal keys can share a buffer (None for scalars)."""
        shape = self.shape(expr)
        return None if shape is None else (shape, self.dtype_of(expr).str)

    def nbytes(self, expr):
        """The bytes of a value's buffer."""
        shape = self.shape(expr)
        return 0 if shape is None else shape[0] * shape[1] * self.dtype_of(expr).itemsize

    def workspace(self, op):
        """The bytes an operation holds while it runs besides its inputs and outputs (its
        declared ``workspace``, in elements of ``dtype``; zero by default)."""
        elements = self.binding.value(op.workspace)
        if elements is None:                     # unbound: the binding's error names the op
            elements = self.binding.workspace(op)
        return int(elements) * self.dtype.itemsize


@dataclasses.dataclass(frozen=True)
class Timeline:
    """Bytes live in an order: ``during[j]`` while step ``j`` runs, ``after[j]`` once it is done.

    ``allocated[j]`` lists the tokens step ``j`` allocates, ``freed[j]`` those
    freed after it; ``nbytes`` maps each allocated token to its bytes.
    """
    during: tuple
    after: tuple
    allocated: tuple
    freed: tuple
    nbytes: dict = dataclasses.field(default_factory=dict)

    @property
    def peak(self):
        return max(self.during, default=0)


def timeline(program, order, sizes, wanted=None):
    """The :class:`Timeline` of ``program`` run in ``order`` (see the module for the model;
    ``wanted``: the values returned, default the program's outputs)."""
    order = tuple(order)
    states = buffer_states(program, order, wanted)
    live, size = 0, {}
    during, after = [], []
    for node, new, gone in zip(order, states.allocated, states.freed):
        for value in new:
            size[value.token] = sizes.nbytes(value.expr)
            live += size[value.token]
        during.append(live + sizes.workspace(node.comp))
        live -= sum(size[token] for token in gone)
        after.append(live)
    return Timeline(tuple(during), tuple(after),
                    tuple(tuple(v.token for v in new) for new in states.allocated),
                    states.freed, size)


def peak_bytes(program, order, sizes):
    """The most bytes live at once while ``program`` runs in ``order`` (see the module)."""
    return timeline(program, order, sizes).peak


def traced_peak(call):
    """``(bytes, result)``: the peak of memory traced while ``call()`` runs, beyond what was
    allocated before it (NumPy reports its arrays to :mod:`tracemalloc`, f2py's included).

    >>> traced_peak(lambda: np.ones(1000))[0] >= 8000
    True
    """
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = call()
        return tracemalloc.get_traced_memory()[1] - before, result
    finally:
        tracemalloc.stop()


def available_bytes():
    """The bytes this process can still allocate, or None when the system does not say.

    The least of: the system's available memory (``MemAvailable`` in
    ``/proc/meminfo``), the room left under a cgroup (v2) memory limit (its reclaimable
    file cache counted as room), and
    the room left under this process's address-space limit (``ulimit -v``).

    >>> available = available_bytes()
    >>> available is None or available > 0
    True
    """
    limits = [_meminfo_available(), _cgroup_room(), _address_space_room()]
    limits = [limit for limit in limits if limit is not None]
    return min(limits) if limits else None


def _read(path):
    try:
        with open(path) as file:
            return file.read()
    except OSError:
        return None


def _meminfo_available():
    text = _read('/proc/meminfo')
    for line in (text or '').splitlines():
        if line.startswith('MemAvailable:'):
            return int(line.split()[1]) * 1024
    return None


def _cgroup_room():
    """The room under a cgroup v2 memory limit: the limit less the working set (what the
    group uses less the file cache the kernel reclaims before it refuses memory,
    ``inactive_file`` in ``memory.stat``, as the kubelet and ``docker stats`` count it)."""
    limit, used = _read('/sys/fs/cgroup/memory.max'), _read('/sys/fs/cgroup/memory.current')
    if not limit or not used or limit.strip() == 'max':
        return None
    reclaimable = 0
    for line in (_read('/sys/fs/cgroup/memory.stat') or '').splitlines():
        if line.startswith('inactive_file '):
            reclaimable = int(line.split()[1])
    return max(int(limit) - max(int(used) - reclaimable, 0), 0)


def _address_space_room():
    limit, _ = resource.getrlimit(resource.RLIMIT_AS)
    statm = _read('/proc/self/statm')
    if limit == resource.RLIM_INFINITY or not statm:
        return None
    return max(limit - int(statm.split()[0]) * resource.getpagesize(), 0)
