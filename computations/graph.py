"""Graph algorithms over a collection of computations.

A collection of computations is a bipartite directed graph: every variable
points to the operations that read it, and the one operation that produces a
variable points to it.  The functions here take any iterable of
:class:`~computations.core.Computation` objects (anything with ``inputs``,
``outputs`` and ``produced``) and work in time linear in nodes plus edges; the
topological sort adds a logarithmic factor for its deterministic tie-breaking.

``CompositeComputation`` builds one :class:`GraphIndex` when it is created and
answers every graph question from it; these functions are what it calls.

>>> from computations import Computation
>>> a = Computation(['w'], ['x'])
>>> b = Computation(['x', 'y'], ['z'])
>>> [c.outputs for c in toposort([b, a])]
[('x',), ('z',)]
"""
import functools
import heapq

__all__ = ['ComputationsError', 'CycleError', 'ConflictingProducersError', 'GraphIndex', 'index',
           'producers', 'toposort', 'find_cycle']


class ComputationsError(Exception):
    """The base of every error this library defines: it pickles with its message and attributes.

    An exception pickles as its class and ``args`` and is rebuilt by calling
    the class with them; ours take other arguments than their message (an
    operation, an expression, a cycle), so that call would fail.  They are
    rebuilt without calling ``__init__``: the message (``args``) and the
    attributes are restored as they were, so an error crosses a process
    boundary (multiprocessing, Dask, joblib) intact.  Each concrete error also
    subclasses the builtin it refines (ValueError, TypeError, LinAlgError).
    It lives in this module, the lowest of the package, because every layer
    defines errors.

    >>> import pickle
    >>> error = pickle.loads(pickle.dumps(CycleError(['x', 'op'])))
    >>> type(error).__name__, error.cycle
    ('CycleError', ('x', 'op'))
    """

    def __reduce__(self):
        return _restore, (type(self), self.args, self.__dict__)


def _restore(cls, args, state):
    """An error of class ``cls`` with ``args`` and attributes ``state``, ``__init__`` skipped."""
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class CycleError(ComputationsError, ValueError):
    """The computations depend on each other in a circle.

    ``cycle`` alternates variables and operations, starting with a variable;
    each element feeds the next and the last feeds the first.
    """

    def __init__(self, cycle):
        self.cycle = tuple(cycle)
        shown = [_show(node, i % 2 == 1) for i, node in enumerate(self.cycle)]
        super().__init__('the computations form a cycle: '
                         + ' -> '.join(shown + shown[:1]))


class ConflictingProducersError(ComputationsError, ValueError):
    """Two different operations produce the same variable."""

    def __init__(self, variable, first, second):
        self.variable, self.producers = variable, (first, second)
        super().__init__(f'variable {variable!s} is produced by two operations: '
                         f'{first!r} and {second!r}')


def _show(node, is_operation):
    return repr(node) if is_operation else str(node)


class GraphIndex:
    """Everything a composite needs to answer graph questions, built once.

    Attributes
    ----------
    order : tuple
        The operations in deterministic topological order.
    position : dict
        operation -> its index in ``order``.
    producer : dict
        variable -> the operation producing it (inputs have none).
    consumers : dict
        variable -> list of operations reading it, in ``order`` (do not mutate).
    inputs, outputs, variables : tuple
        In order of first appearance along ``order``.
    """
    __slots__ = ('order', '_position', 'producer', 'consumers', 'inputs', 'outputs',
                 'variables')

    def __init__(self, order, producer, consumers, inputs, outputs, variables):
        self.order, self.producer, self.consumers = order, producer, consumers
        self.inputs, self.outputs, self.variables = inputs, outputs, variables

    @property
    def position(self):
        """operation -> its index in ``order`` (built on first use: few callers need it)."""
        try:
            return self._position
        except AttributeError:
            self._position = {comp: i for i, comp in enumerate(self.order)}
            return self._position


def producers(computations):
    """Map every produced variable to the operation producing it.

    Raises :class:`ConflictingProducersError` if two operations produce one
    variable.

    >>> from computations import Computation
    >>> a = Computation(['w'], ['x'])
    >>> producers([a]) == {'x': a}
    True
    """
    comps = list(computations)
    return {var: comps[i] for var, i in _made_by(comps).items()}


def _made_by(comps):
    """variable -> position in ``comps`` of its producer; a second producer is an error, and
    so is an operation that produces a variable twice (a subclass's ``outputs`` that
    :func:`check_outputs` did not see at construction; one that produces what it reads is
    a cycle, which :func:`index` names)."""
    made_by = {}
    for i, comp in enumerate(comps):
        produced = comp.produced
        if len(produced) > 1 and len(set(produced)) != len(produced):
            check_outputs(comp, (), produced)
        for var in produced:
            j = made_by.setdefault(var, i)
            if j != i:
                raise ConflictingProducersError(var, comps[j], comp)
    return made_by


def check_outputs(comp, inputs, outputs):
    """Refuse ``outputs`` that list a variable twice or that are among ``inputs``: a
    variable is one value, made once (an operation passing a value through is
    :class:`~computations.core.Identity`, which produces nothing).

    >>> check_outputs('MinMax', ['x', 'y'], ['x', 'z'])
    Traceback (most recent call last):
        ...
    ValueError: MinMax: variable x is both an input and an output (a variable is one value; use Identity to pass it through)
    """
    name = comp if isinstance(comp, str) else type(comp).__name__
    seen = set()
    for var in outputs:
        if var in seen:
            raise ValueError(f'{name}: output {var!s} is listed twice')
        seen.add(var)
    overlap = seen.intersection(inputs)
    if overlap:
        var = next(v for v in outputs if v in overlap)
        raise ValueError(f'{name}: variable {var!s} is both an input and an '
                         'output (a variable is one value; use Identity to pass it through)')


def sort_key(node):
    """The deterministic key that breaks ties between operations ready at the same time.

    It is the operation's ``repr``, except that SymPy expressions inside are
    written by ``sympy.srepr``, which takes time linear in the expression:
    SymPy's ``str`` of a matrix expression takes time that grows about as the
    cube of its nesting depth (0.8 s for ``x = A*x + B`` nested 40 deep, so
    that a 200-step chain could not be indexed).

    Ties between distinct operations are broken by the class's module and
    qualified name, after a NUL that sorts before any other character (so
    keys that differ otherwise keep the order of the ``repr``): two classes
    named alike in two modules no longer fall back to the order the
    operations were given in.  A set's elements are sorted, so the key does
    not depend on the hash seed.

    >>> from computations import Computation
    >>> sort_key(Computation(['x'], ['y'])).split('\\0')
    ["Computation(('x',), ('y',))", 'computations.core.Computation']
    """
    props = getattr(node, '_props', None)
    if props is None:
        return _value_key(node)
    kind = type(node)
    return (f"{kind.__name__}({', '.join(map(_value_key, props))})"
            f"\0{kind.__module__}.{kind.__qualname__}")


def _value_key(value):
    if type(value).__module__.startswith('sympy'):
        return _written(value)
    if isinstance(value, tuple):
        return '(' + ', '.join(map(_value_key, value)) + (',)' if len(value) == 1 else ')')
    if isinstance(value, (set, frozenset)):          # in no order the hash seed decides
        return '{' + ', '.join(sorted(map(_value_key, value))) + '}'
    if hasattr(value, '_props'):
        return sort_key(value)
    return repr(value)


@functools.lru_cache(maxsize=4096)
def _written(expr):
    """``sympy.srepr(expr)``, the last few thousand kept: the graphs of one program, and of
    its compilations at other sizes, name the same variables."""
    from sympy import srepr              # the graph layer needs SymPy only here
    return srepr(expr)


def toposort(computations, key=sort_key, before=None):
    """Order operations so that each comes after the producers of its inputs.

    Among operations that are ready at the same time the one with the smallest
    ``key`` runs first, so equal collections always give the same order,
    whatever order they were listed in.  ``before`` maps an operation to
    operations that must run before it besides its producers (the inplace
    layer's ordering constraints).  A cycle raises :class:`CycleError`.

    >>> from computations import Computation
    >>> b = Computation(['x'], ['y'])
    >>> a = Computation(['w'], ['x'])
    >>> toposort([b, a]) == (a, b)
    True
    """
    comps = list(dict.fromkeys(computations))
    return tuple(_kahn(comps, _made_by(comps), key, before))


def _kahn(comps, made_by, key, before=None):
    """Yield ``comps`` in topological order, smallest ``key`` first among the ready."""
    # Our own Kahn rather than networkx's lexicographical_topological_sort:
    # we order operations only (not variables), avoid building a DiGraph of
    # every variable, call ``key`` once per operation, and yield, so that
    # index() does its per-operation work in the same pass while the
    # operation is still in cache.  The bookkeeping is on positions (ints),
    # not on the operations: hashing an operation is a Python-level call.
    # Measured in benchmarks/bench_graph.py.
    if before:
        position = {comp: i for i, comp in enumerate(comps)}
    # Rank every operation by its key once (one C-level sort), so the heap
    # holds small ints rather than key strings scattered in memory.
    rank = [0] * len(comps)
    for r, i in enumerate(sorted(range(len(comps)), key=[key(c) for c in comps].__getitem__)):
        rank[i] = r
    waiting = [0] * len(comps)
    dependents = [[] for _ in comps]
    ready = []
    get = made_by.get
    for i, comp in enumerate(comps):
        deps = {get(v) for v in comp.inputs}
        if before and comp in before:
            deps.update(position[b] for b in before[comp])
        deps.discard(None)
        waiting[i] = len(deps)
        for dep in deps:
            dependents[dep].append(i)
        if not deps:
            ready.append((rank[i], i))
    heapq.heapify(ready)
    pop, push = heapq.heappop, heapq.heappush
    done = 0
    while ready:
        i = pop(ready)[1]
        done += 1
        yield comps[i]
        for j in dependents[i]:
            left = waiting[j] - 1
            waiting[j] = left
            if not left:
                push(ready, (rank[j], j))
    if done < len(comps):
        stuck = sorted((c for c, w in zip(comps, waiting) if w), key=key)
        # With extra ``before`` edges the cycle may run through them; the
        # caller that added them explains such cycles (computations.inplace.check).
        producer = {var: comps[i] for var, i in made_by.items()}
        raise CycleError(find_cycle(stuck, producer) or stuck)


def find_cycle(computations, producer=None):
    """Return one cycle among ``computations``, or ``()`` if there is none.

    The cycle alternates variables and operations, starting with the variable
    whose ``str`` sorts first.

    >>> from computations import Computation
    >>> a = Computation(['y'], ['x'])
    >>> b = Computation(['x'], ['y'])
    >>> cycle = find_cycle([a, b])
    >>> [str(node) if i % 2 == 0 else node.outputs for i, node in enumerate(cycle)]
    ['x', ('y',), 'y', ('x',)]
    """
    import networkx as nx

    comps = tuple(computations)
    if producer is None:
        producer = producers(comps)
    members = set(comps)
    graph = nx.DiGraph()
    for comp in comps:
        for var in comp.inputs:
            source = producer.get(var)
            if source in members:
                graph.add_edge(('operation', source), ('variable', var))
                graph.add_edge(('variable', var), ('operation', comp))
    try:
        edges = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return ()
    nodes = [node for node, _ in edges]
    # Start at the variable that prints first, so the report does not depend
    # on where the search happened to enter the cycle.
    start = min((i for i, (kind, _) in enumerate(nodes) if kind == 'variable'),
                key=lambda i: str(nodes[i][1]))
    return tuple(node for _, node in nodes[start:] + nodes[:start])


def index(computations, key=sort_key):
    """Build the :class:`GraphIndex` of a collection of computations.

    Linear in nodes plus edges (plus the sort's logarithmic factor).  Raises
    :class:`CycleError` or :class:`ConflictingProducersError` for a collection
    that is not a DAG with one producer per variable.

    >>> from computations import Computation, Identity
    >>> a = Computation(['w'], ['x'])
    >>> b = Computation(['x', 'y'], ['z'])
    >>> g = index([b, a, Identity('x')])
    >>> g.inputs, g.outputs
    (('w', 'y'), ('z', 'x'))
    """
    comps = list(computations if isinstance(computations, (dict, set, frozenset))
                 else dict.fromkeys(computations))
    made_by = _made_by(comps)
    producer = {var: comps[i] for var, i in made_by.items()}
    order, consumers, inputs, variables = [], {}, {}, {}
    for comp in _kahn(comps, made_by, key):
        order.append(comp)
        for var in comp.inputs:
            variables[var] = None
            readers = consumers.get(var)
            if readers is None:
                consumers[var] = [comp]
                if var not in producer:
                    inputs[var] = None
            elif readers[-1] is not comp:
                readers.append(comp)
        for var in comp.outputs:
            variables[var] = None
    outputs = {}
    for comp in order:
        for var in comp.outputs:
            # Produced here and read by nobody, or marked as wanted (Identity).
            if var not in consumers or producer.get(var) is not comp:
                outputs[var] = None
    return GraphIndex(tuple(order), producer, consumers,
                      tuple(inputs), tuple(outputs), tuple(variables))
