"""The base of the BLAS/LAPACK vocabulary: per-routine facts declared as data.

Every operation class names its routine and declares, as class attributes:

``arguments``
    the props that carry values (matrices and scalars), in call order; the
    others are flags (transposes, sides, triangles).  The operation's
    ``inputs`` are the arguments that are variables: a SymPy number such as
    ``alpha = 1`` is a constant baked into the call, and an absent ``C``
    (``None``, as when ``beta = 0``) is not read.
``overwrites``
    ``{output_index: argument_name}``: the input whose storage the routine
    writes that output into.  :attr:`MatrixComputation.inplace` resolves it
    to the ``{output_index: input_index}`` map the inplace pass reads.
``requires``
    ``{argument_name: predicate}``: what must hold for the routine to compute
    the declared outputs (e.g. ``Q.positive_definite`` of ``A`` for POSV).
``routine``, ``library``
    the scipy wrapper's name without its type prefix, and ``'blas'`` or
    ``'lapack'``.
``out_buffers``
    the outputs the routine can write into a buffer the executor supplies
    (through the argument it overwrites, or a ``C`` given with
    ``beta = 0``): by default those of ``overwrites``.  Executors reuse dead
    buffers for them.
``call``
    how the scipy wrapper is called (a :class:`Call`), for the routines of
    ``'blas'`` and ``'lapack'``: both the interpretive kernel and the
    generated source line are derived from it
    (:mod:`computations.schedulers.calls`).
``symmetric_outputs``
    the outputs that are symmetric but that the routine writes in one
    triangle only: executors complete them.

Every concrete class (one that names its ``routine``) is registered as it
is defined: :func:`operations` lists them, so no list of the vocabulary is
kept by hand.

While a :class:`~computations.matrices.ops.memo.Memo` is shared (a compiled
function compiling itself for a new shape), operations are interned by
their constructor's arguments and their FLOP expressions kept: an operation
is an immutable value, so the one built earlier from equal arguments is the
one asked for, and building operations on SymPy expressions is most of a
compilation's time.  The values operations compute are built by
:mod:`~computations.matrices.ops.algebra`.
"""
import dataclasses
import functools
import inspect
from types import MappingProxyType

import sympy
from sympy import MatrixExpr

from computations.core import Computation
from computations.graph import ComputationsError
from computations.matrices.ops.memo import active

__all__ = ['MatrixComputation', 'Interned', 'Call', 'operations', 'is_variable', 'as_scalar',
           'as_matrix', 'as_flag', 'as_side', 'check_square', 'check_shapes', 'same_dimension',
           'dimensions', 'matrix_value', 'NothingToComputeError']


class NothingToComputeError(ComputationsError, ValueError):
    """An operation whose output is one of its inputs (a product with the identity, a
    scaling by 1): there is nothing to compute.  The compiler's search drops a candidate
    that would make one (a split of ``S.I*L*L.T*B`` whose left part is the identity)."""


def dimensions(variables):
    """The symbols in the shapes of the matrix ``variables``, sorted by name.

    >>> n, k = sympy.Symbol('n'), sympy.Symbol('k')
    >>> dimensions([sympy.MatrixSymbol('H', k, n + 1), sympy.Symbol('alpha')])
    (k, n)
    """
    return tuple(sorted({d for var in variables if isinstance(var, MatrixExpr)
                         for dim in var.shape for d in sympy.sympify(dim).free_symbols}, key=str))


def matrix_value(var, array):
    """``array``, the value of matrix variable ``var``, as a matrix: a 1-D array given for an
    n x 1 variable is that column (the convention for vector inputs); others as they are.

    >>> import numpy as np
    >>> matrix_value(sympy.MatrixSymbol('x', 3, 1), np.arange(3.0)).shape
    (3, 1)
    """
    return array.reshape(-1, 1) if array.ndim == 1 and var.shape[1] == 1 else array


def is_variable(value):
    """Whether an argument is read from a variable (not a constant number or absent).

    >>> is_variable(sympy.Symbol('alpha')), is_variable(sympy.S(1)), is_variable(None)
    (True, False, False)
    """
    if value is None:
        return False
    return not (isinstance(value, sympy.Expr) and value.is_number)


def as_scalar(value, name, op):
    """A SymPy scalar (number or Symbol expression), or a TypeError naming the argument.

    >>> as_scalar(2, 'alpha', 'GEMM')
    2
    """
    try:
        value = sympy.sympify(value, strict=True)
    except sympy.SympifyError:
        raise TypeError(f'{op}: {name} must be a scalar number or SymPy symbol, '
                        f'got {type(value).__name__}: {value!r}') from None
    if isinstance(value, MatrixExpr) or not isinstance(value, sympy.Expr):
        raise TypeError(f'{op}: {name} must be a scalar, got {value!r}')
    return value


def as_matrix(value, name, op):
    """A SymPy matrix expression, or a TypeError naming the argument."""
    if not isinstance(value, MatrixExpr):
        raise TypeError(f'{op}: {name} must be a SymPy matrix expression (e.g. a '
                        f'MatrixSymbol), got {type(value).__name__}: {value!r}')
    return value


def as_flag(value, name, op):
    """A boolean flag, or a TypeError naming it."""
    if value not in (True, False, 0, 1):
        raise TypeError(f'{op}: {name} must be True or False, got {value!r}')
    return bool(value)


def as_side(value, op):
    """``'L'`` or ``'R'``, or a ValueError."""
    side = str(value).upper()[:1]
    if side not in ('L', 'R'):
        raise ValueError(f"{op}: side must be 'L' (left) or 'R' (right), got {value!r}")
    return side


def check_square(X, name, op):
    """Raise a ShapeError naming the argument unless ``X`` is square."""
    if X.shape[0] != X.shape[1]:
        raise sympy.ShapeError(f'{op}: {name} must be square, but {X} is '
                               f'{X.shape[0]}x{X.shape[1]}')


def same_dimension(a, b):
    """Whether two (possibly symbolic) dimensions are equal.

    >>> n = sympy.Symbol('n')
    >>> same_dimension(n + 1, 1 + n), same_dimension(n, 3)
    (True, False)
    """
    # expand, not simplify: dimensions are polynomials, and this runs for
    # every operation built.
    return a == b or sympy.expand(a - b) == 0


def check_shapes(op, left_name, left, right_name, right, dim_left, dim_right):
    """Raise a ShapeError naming both arguments unless two dimensions agree."""
    if not same_dimension(left.shape[dim_left], right.shape[dim_right]):
        raise sympy.ShapeError(
            f'{op}: {left_name} = {left} is {left.shape[0]}x{left.shape[1]} and '
            f'{right_name} = {right} is {right.shape[0]}x{right.shape[1]}: '
            'their shapes do not match')


def _frozen(mapping):
    return MappingProxyType(dict(mapping))


@dataclasses.dataclass(frozen=True, eq=False)
class Call:
    """How one routine is called through its scipy wrapper: pure data, read by executors.

    ``arguments``
        the op's arguments the wrapper takes by position, in its order;
    ``returns``
        what the wrapper returns, in order: an output index, ``'info'``
        (LAPACK's status, turned into the op's ``failure``), or ``None``
        (ignored);
    ``flags``
        ``{keyword: source}``: an int constant (``lower=1``), the name of
        a boolean attribute of the op (``trans_a``), or ``(attribute,
        value)``, 1 when the attribute equals the value (``side == 'R'``);
    ``keywords``
        ``{keyword: argument}``: arguments passed by keyword (AXPY's ``a``);
    ``overwrite``
        ``{argument: keyword}``: the ``overwrite_*`` flag of each argument
        the routine can write an output into (the op's ``overwrites`` says
        which output); ``None`` for an argument the routine always writes
        into (AXPY's y, SCAL's x), which executors copy unless allowed;
    ``optional``
        ``{argument: scale}``: an argument that may be absent (C when
        ``beta = 0``), left out with its scale (or, given a free buffer for
        its output, passed as that buffer with a zero scale);
    ``vectors``
        arguments passed as 1-D views (level-1 and level-2 BLAS); the
        outputs written through them take their 2-D shape back;
    ``clears``
        outputs holding one triangle (the one the ``lower`` flag names)
        whose other triangle keeps old values: cleared unless every reader
        reads only that triangle;
    ``inherits``
        outputs of ``clears`` whose other triangle is that of the argument
        they are written into (TRTRI's: a triangular matrix whose other
        triangle is zero), so not cleared either when that argument's
        value is stored whole (a caller's array, a constant, a copy);
    ``elementwise``
        arguments read entry by entry into the same entry of the output
        (AXPY's X and Y, SCAL's X, a diagonal shift's C): such a read is of
        one triangle when every reader of the output reads that triangle
        only, so a symmetric argument written in one triangle is not
        completed for it;
    ``diagonal``
        a triangular argument (or packed LU factors: U's) whose diagonal is
        checked for zeros before the call when the op's ``checks_diagonal``
        is true (TRSM does not report a singular matrix, nor GETRS a
        singular U that GETRF left it; they would divide by zero);
    ``workspace``
        ``{keyword: query}``: a work-array size the routine takes
        (``lwork``), the optimal one LAPACK's workspace query (``sytrf_lwork``)
        gives at the order of the first argument.  scipy's default is the
        least size, with which LAPACK runs the unblocked algorithm: SYSV took
        3.5x and 4.5x GESV's time at n = 1000 and 2000, and 0.8x and 0.75x
        with the optimal size;
    ``scratch``
        arguments the routine writes while it runs and restores before it
        returns, although the wrapper declares them read-only (OpenBLAS's
        GETRS its pivots): a runner that may run another reader of them at
        the same time (a Dask worker's threads) passes a private copy;
    ``transposable``
        ``{argument: flags}``: a read-only matrix argument for which a C-ordered
        array may be passed as its transpose (Fortran-ordered, no copy) with these
        flags flipped, reading the same entries as the same matrix: GEMM's A with
        ``trans_a``, a triangular A with ``trans_a`` and ``lower``, a symmetric A
        with ``lower``.  A runner holding C-ordered arrays (a dask array's chunks)
        passes them so instead of copying each (f2py copies any array that is not
        Fortran-ordered, on every call).

    Outputs listed in the op's ``symmetric_outputs`` are completed from the
    triangle the ``lower`` flag names.  Flags of a constant source are always
    passed, the others only when true: ``clean=0`` must be said (scipy's
    POTRF clears the other triangle by default), ``trans_a=0`` need not.

    >>> spec = Call(('A', 'B'), (1, 0, 'info'), flags={'lower': 1},
    ...             overwrite={'A': 'overwrite_a', 'B': 'overwrite_b'}, clears=(1,))
    >>> spec.flags['lower'], spec.returns
    (1, (1, 0, 'info'))
    """
    arguments: tuple
    returns: tuple
    flags: MappingProxyType = dataclasses.field(default_factory=dict)
    keywords: MappingProxyType = dataclasses.field(default_factory=dict)
    overwrite: MappingProxyType = dataclasses.field(default_factory=dict)
    optional: MappingProxyType = dataclasses.field(default_factory=dict)
    vectors: tuple = ()
    clears: tuple = ()
    inherits: tuple = ()
    elementwise: tuple = ()
    diagonal: str = None
    workspace: MappingProxyType = dataclasses.field(default_factory=dict)
    scratch: tuple = ()
    transposable: MappingProxyType = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        for name in ('flags', 'keywords', 'overwrite', 'optional', 'workspace'):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        object.__setattr__(self, 'transposable', _frozen(
            {name: tuple(flags) for name, flags in self.transposable.items()}))
        for name in ('arguments', 'returns', 'vectors', 'clears', 'inherits', 'elementwise',
                     'scratch'):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        for name in self.transposable:    # read-only, by position, a matrix
            if name not in self.arguments or name in self.overwrite or \
                    name in self.vectors or name in self.scratch:
                raise ValueError(f'Call: transposable argument {name!r} must be a read-only '
                                 f'matrix argument passed by position')

    def flag_values(self, op):
        """``{keyword: 0 or 1}``: the flags of this call for ``op``.

        >>> from computations.matrices import SYMM
        >>> A = sympy.MatrixSymbol('A', 2, 2)
        >>> dict(SYMM.call.flag_values(SYMM(1, A, A, side='R')))
        {'side': 1}
        """
        values = {}
        for keyword, source in self.flags.items():
            if isinstance(source, tuple):
                attribute, wanted = source
                values[keyword] = int(getattr(op, attribute) == wanted)
            elif isinstance(source, str):
                values[keyword] = int(bool(getattr(op, source)))
            else:
                values[keyword] = int(source)
        return values

    def written(self, op):
        """The triangle (``'lower'`` or ``'upper'``) that a routine reading or writing one
        triangle works on: ``'lower'`` when its ``lower`` flag is set (scipy's default is
        the upper one)."""
        return 'lower' if self.flag_values(op).get('lower') else 'upper'


_OPERATIONS = {}


def operations():
    """Every concrete operation class defined so far, in order of definition.

    >>> from computations.matrices import GEMM, POSV
    >>> GEMM in operations() and POSV in operations()
    True
    """
    return tuple(_OPERATIONS)


def _arguments_key(cls, args, kwargs):
    """A constructor call as a key: the class and each argument with its type (``1`` and
    ``1.0``, equal in Python, build different operations)."""
    return (cls, tuple((type(a), a) for a in args),
            tuple((name, type(v), v) for name, v in sorted(kwargs.items(), key=_first)))


def _first(item):
    return item[0]


class Interned(type):
    """The metaclass of operations: while a memo is shared, a constructor call with the
    arguments of an earlier one returns the operation it made (see the module).

    >>> from computations.matrices import GEMM
    >>> from computations.matrices.ops.memo import Memo, sharing
    >>> A = sympy.MatrixSymbol('A', 2, 2)
    >>> with sharing(Memo()):
    ...     GEMM(1, A, A) is GEMM(1, A, A)
    True
    >>> GEMM(1, A, A) is GEMM(1, A, A), GEMM(1, A, A) == GEMM(1, A, A)
    (False, True)
    """

    def __call__(cls, *args, **kwargs):
        memo = active()
        if memo is None:
            return super().__call__(*args, **kwargs)
        key = _arguments_key(cls, args, kwargs)
        try:
            found = memo.get('ops', key)
        except TypeError:                            # an unhashable argument: not interned
            return super().__call__(*args, **kwargs)
        if found is None:
            found = super().__call__(*args, **kwargs)
            memo.store('ops', key, found)
        return found


def _kept_flops(count):
    """A ``flops`` getter that keeps each operation's expression in the shared memo."""
    @functools.wraps(count)
    def flops(op):
        memo = active()
        if memo is None:
            return count(op)
        return memo.lookup('flops', op, lambda: count(op))
    return flops


class MatrixComputation(Computation, metaclass=Interned):
    """A computation that one BLAS or LAPACK routine performs.

    Subclasses set the data attributes described in the module docstring and
    compute their outputs once, in ``__init__``, through :meth:`_set`.
    """
    __slots__ = ('_inputs', '_outputs', '_input_arguments', '_names')
    arguments = ()
    overwrites = {}
    requires = {}
    routine = None
    library = 'blas'
    #: Outputs that are mathematically symmetric but that the routine writes
    #: in one triangle only (the executor completes the other).
    symmetric_outputs = ()

    #: The outputs the routine can write into a supplied buffer (see the
    #: module); ``None`` means those of ``overwrites``.
    out_buffers = None

    #: How the scipy wrapper is called (:class:`Call`): BLAS and LAPACK routines only.
    call = None

    #: Whether the result is an explicit inverse (POTRI): the search prefers solves.
    forms_inverse = False

    #: The routine's speed per FLOP over GEMM's (:class:`~.rates.Rate`), measured; None: as
    #: GEMM.  The planner prices the op at ``flops / rate.at(order)`` (:mod:`.rates`): the
    #: factorizations and inversions declare one.
    rate = None

    #: Whether the op is a product (or a solve made of TRSMs) whose result's orientation the
    #: planner chooses -- ``X*Y`` or ``(Y.T*X.T).T`` -- and pays for: a tall result runs at
    #: :data:`~.rates.TALL` of its transpose's speed (:func:`~.rates.orientation`).
    oriented = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get('routine') is not None:     # a concrete class: register it
            _OPERATIONS[cls] = None
        count = cls.__dict__.get('flops')
        if isinstance(count, property):
            cls.flops = property(_kept_flops(count.fget), doc=count.__doc__)

    def _set(self, *props, outputs):
        """Freeze the props, and derive inputs and outputs once (the graph index reads
        them for every node)."""
        self._freeze(*props)
        object.__setattr__(self, '_names', ())
        named = [(name, getattr(self, name)) for name in self.arguments]
        read = [(name, value) for name, value in named if is_variable(value)]
        object.__setattr__(self, '_input_arguments', tuple(name for name, _ in read))
        object.__setattr__(self, '_inputs', tuple(value for _, value in read))
        outputs = tuple(outputs)
        if not self.output_is_input:
            for var in outputs:
                if var in self._inputs:
                    raise NothingToComputeError(
                        f'{self!r} computes {var}, which is already one of its '
                        'inputs: there is nothing to compute (e.g. a scaling by 1 or a '
                        'product with the identity)')
        object.__setattr__(self, '_outputs', outputs)

    # Output names (value numbering) -------------------------------------------

    def renamed(self, names):
        """This operation with outputs named otherwise: ``names`` maps an output to another
        name of the same value (same shape).

        The compiler names each value it plans by the canonical expression it
        computes, however it is computed (:meth:`~computations.matrices.compiler.search.Planner.plan`):
        ``R + H*Sigma*H.T`` is that whether SYRK computes it from ``H*L`` (``L`` Sigma's
        Cholesky factor) or GEMM from ``H*Sigma``, so what reads it is built once.
        The names are part of the operation's identity (equality, hashing, pickling).

        >>> from computations.matrices import SYRK
        >>> n = sympy.Symbol('n')
        >>> X, S = sympy.MatrixSymbol('X', n, n), sympy.MatrixSymbol('S', n, n)
        >>> op = SYRK(1, X)
        >>> named = op.renamed({op.outputs[0]: S})
        >>> named.outputs, named == op, named.unnamed() == op
        ((S,), False, True)
        """
        unnamed = self.unnamed()
        chosen = dict(self._names)
        for index, var in enumerate(unnamed.outputs):
            new = names.get(self._outputs[index], names.get(var))
            if new is None:
                continue
            if not isinstance(new, MatrixExpr) or not all(
                    same_dimension(a, b) for a, b in zip(new.shape, var.shape)):
                raise ValueError(f'{type(self).__name__}: cannot name its output {var} '
                                 f'{new!r}: not a matrix of the shape {var.shape}')
            if new == var:
                chosen.pop(index, None)
            else:
                chosen[index] = new
        return unnamed._named(tuple(sorted(chosen.items())))

    def _named(self, names):
        if not names:
            return self
        memo = active()
        if memo is not None:
            return memo.lookup('ops', ('named', self, names), lambda: self._copy_named(names))
        return self._copy_named(names)

    def _copy_named(self, names):
        op = object.__new__(type(self))
        for slot in ('_props', '_inputs', '_input_arguments'):
            object.__setattr__(op, slot, getattr(self, slot))
        outputs = list(self._outputs)
        for index, name in names:
            outputs[index] = name
        object.__setattr__(op, '_outputs', tuple(outputs))
        object.__setattr__(op, '_names', names)
        return op

    def unnamed(self):
        """This operation with its outputs named as its routine computes them (the
        algebra of its arguments): itself unless :meth:`renamed`."""
        if not self._names:
            return self
        return type(self)(*self._props)

    def __eq__(self, other):
        if self is other:
            return True
        if type(self) is not type(other):
            return NotImplemented
        return (hash(self) == hash(other) and self._props == other._props
                and self._names == other._names)

    def __hash__(self):
        try:
            return self._hash
        except AttributeError:
            key = (type(self).__qualname__, self._props)
            value = hash(key + (self._names,) if self._names else key)
            object.__setattr__(self, '_hash', value)
            return value

    def __repr__(self):
        text = super().__repr__()
        if not self._names:
            return text
        names = ', '.join(f'{self.unnamed().outputs[i]!r}: {name!r}' for i, name in self._names)
        return f'{text}.renamed({{{names}}})'

    def __reduce__(self):
        # The derived slots too: built from its props, an operation derives its outputs
        # again through SymPy's canonical forms, about 1 ms an operation (the Dask graph of
        # the Kalman update blocked 4 x 8 took 0.46 s to unpickle, on the scheduler and
        # again on the workers, each worker's share in the thread that feeds its tasks).
        return (_restored, (type(self), self._props, self._inputs, self._input_arguments,
                            self._outputs, self._names))

    @property
    def inputs(self):
        return self._inputs

    @property
    def outputs(self):
        return self._outputs

    def _argument_values(self):
        return [getattr(self, name) for name in self.arguments]

    @property
    def inplace(self):
        """``{output_index: input_index}``: which input's storage each output takes.

        An argument that is not read from a variable (a constant, or ``C``
        when ``beta = 0``) has no storage to take, so its entry is dropped.
        """
        positions = {name: i for i, name in enumerate(self.input_arguments)}
        return {out: positions[name] for out, name in self.overwrites.items()
                if name in positions}

    @property
    def triangles(self):
        """``{argument name: 'lower', 'upper' or 'diagonal'}``: the arguments the routine
        reads one triangle of (the other may hold anything), or only the diagonal of (a
        buffer holding either triangle will do).  None by default.

        >>> from computations.matrices import TRSM
        >>> TRSM(1, sympy.MatrixSymbol('L', 2, 2), sympy.MatrixSymbol('B', 2, 1)).triangles
        {'A': 'lower'}
        """
        return {}

    @property
    def buffered_outputs(self):
        """The output indices the routine can write into a buffer the executor supplies.

        >>> from computations.matrices import GEMM, TRANSPOSE, GETRF
        >>> A = sympy.MatrixSymbol('A', 2, 2)
        >>> GEMM(1, A, A).buffered_outputs, TRANSPOSE(A).buffered_outputs, GETRF(A).buffered_outputs
        ((0,), (0,), (0,))
        """
        chosen = self.overwrites if self.out_buffers is None else self.out_buffers
        return tuple(sorted(chosen))

    @property
    def input_arguments(self):
        """The names of the arguments read from variables, in the order of :attr:`inputs`.

        >>> from computations.matrices import GEMM
        >>> A = sympy.MatrixSymbol('A', 2, 2)
        >>> GEMM(1, A, A, sympy.Symbol('b'), A).input_arguments
        ('A', 'B', 'beta', 'C')
        """
        return self._input_arguments

    @property
    def condition(self):
        """The SymPy proposition under which this routine computes its outputs.

        >>> from computations.matrices import POSV
        >>> A, B = sympy.MatrixSymbol('A', 3, 3), sympy.MatrixSymbol('B', 3, 2)
        >>> POSV(A, B).condition
        Q.positive_definite(A)
        """
        return sympy.And(*(predicate(getattr(self, name))
                           for name, predicate in self.requires.items()
                           if getattr(self, name) is not None))

    @property
    def flops(self):
        """Floating-point operations, as a SymPy expression in the shapes."""
        raise NotImplementedError(f'{type(self).__name__} does not declare its FLOP count')

    def __str__(self):
        """``outputs = NAME(arguments, flag=value)``, flags shown when not the default.

        >>> from computations.matrices import GEMM
        >>> A, C = sympy.MatrixSymbol('A', 2, 2), sympy.MatrixSymbol('C', 2, 2)
        >>> print(GEMM(1, A, A, -1, C, trans_b=True))
        A*A.T - C = GEMM(1, A, A, -1, C, trans_b=True)
        """
        defaults = _defaults(type(self))
        shown = [str(value) for name, value in zip(self.arguments, self._argument_values())
                 if value is not None
                 and (is_variable(value) or defaults.get(name, inspect.Parameter.empty) != value)]
        shown += [f'{name}={getattr(self, name)!r}' for name in self.__props__
                  if name not in self.arguments and name in defaults
                  and getattr(self, name) != defaults[name]]
        outputs = ', '.join(map(str, self.outputs))
        return f"{outputs} = {type(self).__name__}({', '.join(shown)})"

    def bind(self, values):
        """Map each argument name to its runtime value.

        ``values`` are the values of :attr:`inputs`, in order; constants
        become floats and absent arguments ``None``.

        >>> from computations.matrices import GEMM
        >>> A, B = sympy.MatrixSymbol('A', 2, 2), sympy.MatrixSymbol('B', 2, 2)
        >>> GEMM(2, A, B).bind(['a', 'b'])
        {'alpha': 2.0, 'A': 'a', 'B': 'b', 'beta': 0.0, 'C': None}
        """
        values = iter(values)
        bound = {}
        for name, value in zip(self.arguments, self._argument_values()):
            if value is None:
                bound[name] = None
            elif name in self._input_arguments:
                bound[name] = next(values)
            else:
                bound[name] = float(value)
        return bound


def _restored(cls, props, inputs, input_arguments, outputs, names):
    """An operation, unpickled: its slots as they were, its constructor not run.

    >>> import pickle
    >>> from computations.matrices import GEMM
    >>> A = sympy.MatrixSymbol('A', 2, 2)
    >>> op = GEMM(1, A, A).renamed({A * A: sympy.MatrixSymbol('S', 2, 2)})
    >>> copy = pickle.loads(pickle.dumps(op))
    >>> copy == op, copy.outputs, copy.inputs, copy.unnamed() == GEMM(1, A, A)
    (True, (S,), (A, A), True)
    """
    op = object.__new__(cls)
    for slot, value in (('_props', props), ('_inputs', inputs),
                        ('_input_arguments', input_arguments), ('_outputs', outputs),
                        ('_names', names)):
        object.__setattr__(op, slot, value)
    return op


@functools.cache
def _defaults(cls):
    """The default values of a class's constructor arguments (its flags)."""
    parameters = inspect.signature(cls.__init__).parameters.values()
    return {p.name: p.default for p in parameters if p.default is not p.empty}
