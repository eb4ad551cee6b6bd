"""The mathematical IR: immutable computations and their composites.

A :class:`Computation` is an operation node with a tuple of ``inputs`` and a
tuple of ``outputs``; the variables are any hashable values, in the matrix
vocabulary SymPy expressions defined entirely by their meaning.  A
:class:`CompositeComputation` is an immutable set of computations forming a
bipartite DAG of variables and operations; it answers graph questions from an
index built once (:mod:`computations.graph`).

Nodes are value objects.  Each class lists its identity in ``__props__``:
construction arguments, in order, stored once.  Equality, hashing, ``repr``
and pickling derive from them; setting an attribute raises.

>>> x, y, z = 'x', 'y', 'z'
>>> f = Computation([x], [y])
>>> g = Computation([y], [z])
>>> fg = f + g
>>> fg.inputs, fg.outputs
(('x',), ('z',))
>>> fg == g + f
True
"""
import types

from . import graph, pictures

__all__ = ['Computation', 'CompositeComputation', 'Identity', 'Immutable']


class Immutable:
    """Base of value objects: attributes are set once, in ``__init__``, with ``object.__setattr__``.

    >>> class Point(Immutable):
    ...     __slots__ = ('x',)
    ...     def __init__(self, x):
    ...         object.__setattr__(self, 'x', x)
    >>> Point(1).x = 2
    Traceback (most recent call last):
        ...
    AttributeError: Point is immutable: cannot set 'x'; build a new one instead
    """
    __slots__ = ()

    def __setattr__(self, name, value):
        raise AttributeError(f'{type(self).__name__} is immutable: cannot set {name!r}; '
                             'build a new one instead')

    def __delattr__(self, name):
        raise AttributeError(f'{type(self).__name__} is immutable: cannot delete {name!r}')

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


class Computation(Immutable):
    """An operation that reads ``inputs`` and produces ``outputs``.

    Instantiated directly it is an opaque node; subclasses (the matrix
    operations) declare their own ``__props__`` and derive ``inputs`` and
    ``outputs`` from them.

    Parameters
    ----------
    inputs, outputs : iterable of hashable
        The variables read and produced.  An output may not also be an input,
        and no variable may be produced twice.

    Examples
    --------
    >>> c = Computation(['x', 'y'], ['z'])
    >>> c.inputs, c.outputs
    (('x', 'y'), ('z',))
    >>> c == Computation(('x', 'y'), ('z',))
    True
    >>> c.inputs = ('w',)
    Traceback (most recent call last):
        ...
    AttributeError: Computation is immutable: cannot set 'inputs'; build a new one instead
    """
    __slots__ = ('_props', '_hash')
    __props__ = ('inputs', 'outputs')

    # The facts the passes read of every operation, as data; these are the
    # defaults of an opaque operation, and operations that have them override them.
    #: ``{output position: input position}``: outputs written into an input's storage.
    inplace = types.MappingProxyType({})
    #: The output positions the operation can write into a buffer the executor supplies.
    buffered_outputs = ()
    #: Whether an output is an input's value in another buffer (a copy).
    output_is_input = False
    #: Floating-point operations, and elements of workspace held while it runs
    #: (SymPy expressions of the dimensions).
    flops = 0
    workspace = 0

    def __init__(self, inputs, outputs):
        inputs = _variables(inputs, 'inputs')
        outputs = _variables(outputs, 'outputs')
        graph.check_outputs(self, inputs, outputs)
        self._freeze(inputs, outputs)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        props = cls.__dict__.get('__props__')
        if props is None:
            return
        for i, name in enumerate(props):
            if name not in cls.__dict__:
                setattr(cls, name, property(_prop_getter(i), doc=f'Property {name!r}.'))
        for name in ('inputs', 'outputs'):
            if name not in props and getattr(cls, name) is getattr(Computation, name):
                raise TypeError(f'{cls.__name__} must define {name!r}: its __props__ '
                                f'{props} do not include it')

    def _freeze(self, *values):
        """Store the values of ``__props__``, in order; called once by ``__init__``."""
        if len(values) != len(self.__props__):
            raise TypeError(f'{type(self).__name__} has props {self.__props__}, '
                            f'got {len(values)} values')
        object.__setattr__(self, '_props', values)

    @property
    def inputs(self):
        """The variables this operation reads, a tuple."""
        return self._props[0]

    @property
    def outputs(self):
        """The variables this operation writes, a tuple."""
        return self._props[1]

    @property
    def props(self):
        """The values of ``__props__``: the node's identity."""
        return self._props

    @property
    def produced(self):
        """The variables this operation creates (all its outputs, except for markers)."""
        return self.outputs

    # value-object protocol -------------------------------------------------
    def __eq__(self, other):
        if self is other:
            return True
        if type(self) is not type(other):
            return NotImplemented
        return hash(self) == hash(other) and self._props == other._props

    def __ne__(self, other):
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self):
        try:
            return self._hash
        except AttributeError:
            value = hash((type(self).__qualname__, self._props))
            object.__setattr__(self, '_hash', value)
            return value

    def __reduce__(self):
        return (type(self), self._props)

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(map(repr, self._props))})"

    def __str__(self):
        outs = ', '.join(map(str, self.outputs))
        return f"{outs} = {type(self).__name__}({', '.join(map(str, self.inputs))})"

    # composition -----------------------------------------------------------
    def __add__(self, other):
        if not isinstance(other, Computation):
            return NotImplemented
        return CompositeComputation(self, other)

    def toposort(self):
        """The operations in the order they run: here just this one.

        >>> c = Computation(['x'], ['y'])
        >>> c.toposort() == (c,)
        True
        """
        return (self,)

    def as_composite(self):
        """This computation as a :class:`CompositeComputation`: the graph views read one.

        >>> c = Computation(['x'], ['y'])
        >>> c.as_composite() == CompositeComputation(c), c.as_composite().as_composite() == c + c
        (True, True)
        """
        return CompositeComputation(self)

    # pictures (computations.pictures) ---------------------------------------
    def to_networkx(self):
        """This computation as a bipartite :class:`networkx.DiGraph`.

        >>> g = Computation(['x'], ['y']).to_networkx()
        >>> g.nodes['x']['kind'], g.nodes['y']['kind'], g.number_of_edges()
        ('variable', 'variable', 2)
        """
        return pictures.to_networkx(self)

    def dot(self, **options):
        """This computation as a :class:`graphviz.Digraph` (variables ellipses, operations boxes).

        >>> 'shape=box' in Computation(['x'], ['y']).dot().source
        True
        """
        return pictures.dot(self, **options)

    def write(self, path, format=None, **options):
        """Render the picture to ``path`` (SVG, PNG, PDF, ... from the suffix) with ``dot``.

        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / 'c.svg'
        >>> Computation(['x'], ['y']).write(path) == path
        True
        """
        return pictures.write(self, path, format, **options)

    def _repr_svg_(self):
        return pictures.repr_svg(self)

    def _repr_mimebundle_(self, include=None, exclude=None):
        return pictures.mimebundle(self, include, exclude)


def _prop_getter(i):
    def get(self):
        return self._props[i]
    return get


def _variables(values, argument):
    """A tuple of hashable variables, or a TypeError naming the argument."""
    if isinstance(values, (str, bytes)):
        raise TypeError(f'{argument} must be an iterable of variables, got the string '
                        f'{values!r}; write [{values!r}] for one variable')
    try:
        values = tuple(values)
    except TypeError:
        raise TypeError(f'{argument} must be an iterable of variables, '
                        f'got {type(values).__name__}') from None
    for i, var in enumerate(values):
        try:
            hash(var)
        except TypeError:
            raise TypeError(f'{argument}[{i}] is not hashable ({type(var).__name__}); '
                            'variables must be hashable values') from None
    return values


class Identity(Computation):
    """Marks variables as wanted outputs of a composite, without computing anything.

    Its inputs and outputs are the same variables.  In a composite it reads
    them (so it runs after their producers) but produces nothing, and they
    become outputs of the composite even when other operations read them.

    >>> c = Computation(['x'], ['y']) + Computation(['y'], ['z'])
    >>> c.outputs
    ('z',)
    >>> (c + Identity('y')).outputs
    ('z', 'y')
    """
    __slots__ = ()
    __props__ = ('variables',)

    def __init__(self, *variables):
        self._freeze(tuple(dict.fromkeys(_variables(variables, 'variables'))))

    def __reduce__(self):
        return (type(self), self.variables)

    @property
    def inputs(self):
        return self.variables

    @property
    def outputs(self):
        return self.variables

    @property
    def produced(self):
        return ()


class CompositeComputation(Computation):
    """An immutable set of computations: a bipartite DAG of variables and operations.

    Nested composites are flattened and duplicates merged, so composition is
    associative and commutative.  The graph is indexed once, at construction,
    which fails early with :class:`~computations.graph.CycleError` or
    :class:`~computations.graph.ConflictingProducersError`.

    Its ``inputs`` are the variables no member produces; its ``outputs`` those
    no member reads, plus those an :class:`Identity` marks.  Both are ordered
    by first appearance along :meth:`toposort`.

    Examples
    --------
    The seed's example: ``A`` makes ``x`` from ``w``; ``MinMax`` reads ``x``
    and ``y``::

        w -> [A] -> x -> [MinMax] -> min, max
                    y ----^

    >>> A = Computation(['w'], ['x'])
    >>> minmax = Computation(['x', 'y'], ['min', 'max'])
    >>> c = A + minmax
    >>> c.inputs, c.outputs
    (('w', 'y'), ('min', 'max'))
    >>> c.toposort() == (A, minmax)
    True
    >>> c.consumers('x') == (minmax,) and c.producer('x') == A
    True
    """
    __slots__ = ('_graph',)
    __props__ = ('computations',)

    def __init__(self, *computations):
        # An insertion-ordered dict, not a set: indexing then walks the
        # members in the order they were made, which keeps memory access
        # sequential (about 1.3x faster at 40k operations; bench_graph.py).
        members = {}
        for i, comp in enumerate(computations):
            if isinstance(comp, CompositeComputation):
                members.update(dict.fromkeys(comp._graph.order))
            elif isinstance(comp, Computation):
                members[comp] = None
            else:
                raise TypeError(f'argument {i} of CompositeComputation is a '
                                f'{type(comp).__name__}, not a Computation: {comp!r}')
        self._freeze(frozenset(members))
        object.__setattr__(self, '_graph', graph.index(members))

    def __reduce__(self):
        return (type(self), tuple(self.computations))

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(map(repr, self._graph.order))})"

    def __str__(self):
        return '\n'.join(map(str, self._graph.order))

    def __len__(self):
        return len(self.computations)

    def as_composite(self):
        return self

    def __iter__(self):
        """The member computations in topological order."""
        return iter(self._graph.order)

    def __contains__(self, comp):
        return comp in self.computations

    @property
    def inputs(self):
        return self._graph.inputs

    @property
    def outputs(self):
        return self._graph.outputs

    @property
    def variables(self):
        """Every variable, in order of first appearance along :meth:`toposort`."""
        return self._graph.variables

    def toposort(self):
        """The member computations in a deterministic topological order.

        Producers come before their consumers; ties are broken by ``repr``, so
        equal composites always give the same order.
        """
        return self._graph.order

    def producer(self, variable):
        """The member that produces ``variable``, or ``None`` for an input.

        Raises KeyError for a variable that is not in the composite.
        """
        self._known(variable)
        return self._graph.producer.get(variable)

    def consumers(self, variable):
        """The members that read ``variable``, in topological order."""
        self._known(variable)
        return tuple(self._graph.consumers.get(variable, ()))

    def dependencies(self, comp):
        """The members producing the inputs of member ``comp``, in input order."""
        self._member(comp)
        producer = self._graph.producer
        return tuple(dict.fromkeys(producer[v] for v in comp.inputs if v in producer))

    def dependents(self, comp):
        """The members reading what member ``comp`` produces, in topological order."""
        self._member(comp)
        position = self._graph.position
        readers = {c for v in comp.produced for c in self._graph.consumers.get(v, ())}
        return tuple(sorted(readers, key=position.__getitem__))

    def edges(self):
        """Every edge of the bipartite graph: ``(variable, comp)`` and ``(comp, variable)``.

        >>> a = Computation(['x'], ['y'])
        >>> list(CompositeComputation(a).edges()) == [('x', a), (a, 'y')]
        True
        """
        for comp in self._graph.order:
            for var in dict.fromkeys(comp.inputs):
                yield var, comp
            for var in comp.produced:
                yield comp, var

    def _known(self, variable):
        if variable not in self._graph.producer and variable not in self._graph.consumers:
            raise KeyError(f'{variable!s} is not a variable of this composite')

    def _member(self, comp):
        if comp not in self.computations:
            raise KeyError(f'{comp!r} is not a member of this composite')
