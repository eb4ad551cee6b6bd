"""What a call returns: the structure the outputs were given in, and 1-D vectors.

A :class:`~computations.front_door.Function` computes a flat tuple of
results; :class:`OutputStructure` gives them back in the shape its outputs
were given in, as ``jax.jit`` and ``pytensor.function`` do:

- one expression: its result alone (an array, or a scalar);
- a list or tuple: a tuple; with ``names=``, a :class:`Results` (a tuple
  whose items are also attributes: ``r.beta``, ``r._asdict()``);
- a dict ``{name: expression}``: a dict with the same names, in order.

*1-D in, 1-D out*: a column vector output (declared ``k x 1``, ``k`` not
the number 1) computed from a column-vector input the call gave as a 1-D
array comes back 1-D, ``(k,)``, as NumPy users expect.

>>> from sympy import MatrixSymbol, Symbol
>>> n = Symbol('n')
>>> A, x = MatrixSymbol('A', n, n), MatrixSymbol('x', n, 1)
>>> structure = OutputStructure({'y': A*x, 'z': A*A}, None, (A, x))
>>> structure.names, structure.outputs
(('y', 'z'), (A*x, A**2))
>>> structure.flat((A, x), (np.eye(2), np.ones(2)))
(True, False)
"""
import functools
from collections.abc import Mapping

import numpy as np
import sympy
from sympy import MatrixExpr

from computations.schedulers.execute import column_vector

from .arguments import ordered

__all__ = ['OutputStructure', 'Results']


class Results(tuple):
    """The results of a call of a function given ``names=``: a tuple (unpack it, index it)
    whose items can also be read by name, as ``r['name']`` or, for names that are
    identifiers and not tuple methods (``count``, ``index``), as ``r.name``.

    >>> r = Results((1.0, 2.0), ('value', 'gradient'))
    >>> value, gradient = r
    >>> r.gradient, r['value'], r[0], r._asdict()
    (2.0, 1.0, 1.0, {'value': 1.0, 'gradient': 2.0})
    >>> r
    Results(value=1.0, gradient=2.0)
    """

    __slots__ = ()
    #: The names of the items (a class attribute: each tuple of names has its subclass).
    _fields = ()

    def __new__(cls, values, names):
        return tuple.__new__(results_type(tuple(names)), values)

    def __getitem__(self, key):
        if isinstance(key, str):
            try:
                return tuple.__getitem__(self, self._fields.index(key))
            except ValueError:
                raise KeyError(f'results have no output named {key!r} '
                               f'(names: {", ".join(self._fields)})') from None
        return tuple.__getitem__(self, key)

    def __getattr__(self, name):
        try:
            return tuple.__getitem__(self, type(self)._fields.index(name))
        except ValueError:
            raise AttributeError(f'results have no output named {name!r} '
                                 f'(names: {", ".join(self._fields)})') from None

    def __dir__(self):
        return sorted(set(super().__dir__()) | {f for f in self._fields if f.isidentifier()})

    def _asdict(self):
        """``{name: result}``, in order."""
        return dict(zip(self._fields, self))

    def __repr__(self):
        return f'Results({", ".join(f"{k}={v!r}" for k, v in zip(self._fields, self))})'

    def __reduce__(self):
        return Results, (tuple(self), self._fields)


@functools.lru_cache(maxsize=1024)
def results_type(names):
    """The :class:`Results` subclass whose items are called ``names`` (made once per tuple
    of names, like a namedtuple class): ``tuple.__new__(results_type(names), values)``
    makes results without a per-call ``__dict__``.

    >>> results_type(('a', 'b')) is results_type(('a', 'b')), results_type(('a',))._fields
    (True, ('a',))
    """
    return type('Results', (Results,), {'__slots__': (), '_fields': names,
                                        '__module__': Results.__module__,
                                        '__qualname__': 'Results'})


class OutputStructure:
    """The outputs of a function as given (one expression, a sequence, or a dict of names),
    their names, and how to give a call's flat results back in that structure.

    ``outputs`` is what the caller gave; ``names`` the ``names=`` option (a
    sequence of distinct strings, one per output; not with a dict, whose keys
    are the names); ``inputs`` the function's inputs.  Attributes:
    ``outputs`` (a tuple of expressions), ``names``, ``kind`` (``'single'``,
    ``'tuple'``, ``'named'`` or ``'dict'``) and ``given`` (what to rebuild
    the function from when it is unpickled).

    >>> S = sympy.MatrixSymbol('S', 2, 2)
    >>> OutputStructure(S.T*S, None, (S,)).pack((np.eye(2),))
    array([[1., 0.],
           [0., 1.]])
    """

    def __init__(self, outputs, names, inputs):
        if isinstance(outputs, sympy.MatrixBase):    # a mutable Matrix is one expression, not
            outputs = sympy.ImmutableMatrix(outputs)  # a sequence of its entries
        if isinstance(outputs, Mapping):
            if names is not None:
                raise ValueError('names: the outputs are a dict, whose keys name them; give '
                                 'names= only with a list or tuple of outputs')
            names = list(outputs)
            self.kind, self.given = 'dict', dict(outputs)
            outputs = list(outputs.values())
            if not outputs:
                raise ValueError('outputs: an empty dict; give at least one output')
        elif isinstance(outputs, sympy.Basic):
            self.kind, self.given, outputs = 'single', outputs, [outputs]
        elif isinstance(outputs, (str, bytes)) or not _iterable(ordered(
                outputs, 'outputs', 'a list or tuple, or a dict of names')):
            raise TypeError('outputs must be a SymPy expression, a list or tuple of them, or a '
                            f'dict {{name: expression}}, got {outputs!r} '
                            f'({type(outputs).__name__})')
        else:
            kind, outputs = type(outputs).__name__, tuple(outputs)
            if not outputs:
                raise ValueError(f'outputs: an empty {kind}; give at least one output')
            self.given = outputs
            self.kind = 'tuple' if names is None else 'named'
        self.outputs = tuple(outputs)
        self.names = _check_names(names, len(self.outputs), 'names' if self.kind != 'dict'
                                  else 'outputs: dict keys')
        for name in self.names if self.kind == 'named' else ():
            if name.startswith('_') and hasattr(Results, name):
                raise ValueError(f'names: {name} is an attribute of the results (r.{name} '
                                 'would not be the output): choose another name')
        self._flattened = _column_vectors(self.outputs, inputs)

    def flat(self, inputs, values):
        """Per output, whether it comes back 1-D for these call ``values`` of ``inputs``
        (see the module): a column vector computed from a column-vector input given 1-D."""
        given = {var for var, value in zip(inputs, values)
                 if column_vector(var) and _ndim(value) == 1}
        return tuple(bool(reads & given) for reads in self._flattened)

    @property
    def vectors(self):
        """Whether some output may come back 1-D (a column vector read from a column vector
        input)."""
        return any(self._flattened)

    @staticmethod
    def flattened(results, flat):
        """The flat ``results`` with those ``flat`` marks (see :meth:`flat`; None: none) as
        1-D arrays (views), a batch's too."""
        if flat is None or not any(flat):
            return results
        return tuple(r[..., 0] if f else r for r, f in zip(results, flat))

    def pack(self, results, flat=None):
        """The flat ``results`` of a call in the structure the outputs were given in; those
        ``flat`` marks (see :meth:`flat`) as 1-D arrays."""
        results = self.flattened(results, flat)
        if self.kind == 'single':
            return results[0]
        if self.kind == 'tuple':
            return results
        if self.kind == 'named':
            return Results(results, self.names)
        return dict(zip(self.names, results))


def _ndim(value):
    """The number of dimensions of ``value`` (an array, a dask array, a list...), or None
    when NumPy cannot tell (a ragged list: the conversion names it later)."""
    ndim = getattr(value, 'ndim', None)
    if isinstance(ndim, int):
        return ndim
    try:
        return np.ndim(value)
    except Exception:  # ragged lists and the like
        return None


def _iterable(value):
    try:
        iter(value)
    except TypeError:
        return False
    return True


def _check_names(names, count, label):
    """``names`` as a tuple of distinct strings, one per output (``out0``, ``out1``... if
    None)."""
    if names is None:
        return tuple(f'out{i}' for i in range(count))
    if isinstance(names, str) or not _iterable(names):
        raise TypeError(f'{label} must be a list of strings, one per output, got {names!r}')
    names = tuple(names)
    for name in names:
        if not isinstance(name, str) or not name:
            raise TypeError(f'{label} must be non-empty strings, got {name!r} '
                            f'({type(name).__name__})')
    if len(names) != count:
        raise ValueError(f'{label}: {len(names)} names for {count} outputs')
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f'{label}: {", ".join(repeated)} given more than once')
    return names


def _column_vectors(outputs, inputs):
    """Per output, the column-vector inputs it reads if it is a column vector itself
    (declared ``k x 1``, ``k`` not the number 1), else the empty set."""
    vectors = {var for var in inputs if column_vector(var)}
    found = []
    for out in outputs:
        column = isinstance(out, MatrixExpr) and out.shape[1] == 1 and out.shape[0] != 1
        found.append(frozenset(out.free_symbols & vectors) if column else frozenset())
    return tuple(found)
