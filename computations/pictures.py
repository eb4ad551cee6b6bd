"""Pictures of computations: networkx graphs, graphviz drawings, SVG for Jupyter.

Labels are registries (:func:`functools.singledispatch`): register a function
for an operation class or a variable type to change how it is drawn.

>>> from computations import Computation
>>> c = Computation(['x'], ['y']) + Computation(['y', 'z'], ['w'])
>>> g = to_networkx(c)
>>> sorted(map(str, g.nodes)) == sorted(map(str, c.variables + c.toposort()))
True
>>> print(dot(c).source)
digraph computation {
	graph [rankdir=TB]
	v0 [label=x shape=ellipse]
	v1 [label=y shape=ellipse]
	v2 [label=z shape=ellipse]
	v3 [label=w peripheries=2 shape=ellipse]
	op0 [label=Computation shape=box]
	op1 [label=Computation shape=box]
	v0 -> op0
	op0 -> v1
	v1 -> op1
	v2 -> op1
	op1 -> v3
}
<BLANKLINE>
"""
import functools
import importlib.util
import os
import pathlib
import sys


def _lazy_import(name):
    """``name`` as a module that loads on first use (the standard library's LazyLoader
    recipe): networkx and graphviz take about 0.12 s to import, and `import computations`
    should not pay that for programs that never draw."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


graphviz = _lazy_import('graphviz')
networkx = _lazy_import('networkx')

__all__ = ['operation_label', 'variable_label', 'is_scalar', 'overwritten_inputs',
           'to_networkx', 'dot', 'write', 'svg', 'mimebundle', 'OVERWRITE_EDGE']


@functools.singledispatch
def operation_label(comp):
    """The text in an operation's box: its class name.

    >>> from computations import Computation
    >>> operation_label(Computation(['x'], ['y']))
    'Computation'
    """
    return type(comp).__name__


@functools.singledispatch
def variable_label(var):
    """The text in a variable's ellipse: ``str(var)`` (a newline starts a second line).

    >>> import sympy
    >>> variable_label(sympy.MatrixSymbol('A', 2, 2).T)
    'A.T'
    """
    return str(var)


@functools.singledispatch
def is_scalar(var):
    """Whether a variable is a scalar, which ``dot(..., scalars=False)`` hides.

    SymPy expressions that are not matrices are scalars; anything else is not.

    >>> import sympy
    >>> is_scalar(sympy.Symbol('alpha')), is_scalar(sympy.MatrixSymbol('A', 2, 2)), is_scalar('x')
    (True, False, False)
    """
    # A variable can be a SymPy object only once SymPy is loaded: pictures of plain
    # computations never import it.
    loaded = sys.modules.get('sympy')
    return loaded is not None and isinstance(var, loaded.Basic) and not var.is_Matrix


@functools.singledispatch
def overwritten_inputs(comp):
    """The inputs whose buffers an operation overwrites: none, for a mathematical one.

    Token programs register their nodes here (see :mod:`computations.inplace.tokens`);
    :func:`dot` draws the edges into and out of such a buffer in red.

    >>> from computations import Computation
    >>> overwritten_inputs(Computation(['x'], ['y']))
    frozenset()
    """
    return frozenset()


def _composite(comp):
    """The composite view of a computation (its ``as_composite()``): what is drawn."""
    try:
        as_composite = comp.as_composite
    except AttributeError:
        raise TypeError(f'expected a Computation, got {type(comp).__name__}: {comp!r}') from None
    return as_composite()


def to_networkx(comp):
    """The bipartite :class:`networkx.DiGraph` of a computation.

    Nodes are the variables and the operations themselves.  Each has the
    attributes ``kind`` (``'variable'`` or ``'operation'``), ``bipartite``
    (0 or 1) and ``label``; variables also have ``role``: ``'input'``,
    ``'output'`` or ``'intermediate'``.

    >>> from computations import Computation
    >>> g = to_networkx(Computation(['x'], ['y']))
    >>> g.nodes['x']
    {'kind': 'variable', 'bipartite': 0, 'label': 'x', 'role': 'input'}
    >>> networkx.is_directed_acyclic_graph(g)
    True
    """
    comp = _composite(comp)
    inputs, outputs = set(comp.inputs), set(comp.outputs)
    graph = networkx.DiGraph()
    for var in comp.variables:
        role = 'input' if var in inputs else 'output' if var in outputs else 'intermediate'
        graph.add_node(var, kind='variable', bipartite=0, label=variable_label(var),
                       role=role)
    for op in comp.toposort():
        graph.add_node(op, kind='operation', bipartite=1, label=operation_label(op))
    graph.add_edges_from(comp.edges())
    return graph


#: How :func:`dot` draws an edge into or out of an overwritten buffer.
OVERWRITE_EDGE = {'color': 'red', 'penwidth': '2'}


def dot(comp, *, name=None, rankdir='TB', graph_attr=None, layers=False, scalars=True):
    """A :class:`graphviz.Digraph` of a computation.

    Variables are ellipses (wanted outputs drawn with a double border),
    operations boxes labelled by :func:`operation_label`.  Node ids follow the
    topological order, so the same computation always gives the same source.
    In a token program each value shows its buffer (token) on a second line,
    and the edges into and out of an overwritten buffer are red
    (:data:`OVERWRITE_EDGE`, from :func:`overwritten_inputs`).

    Options: ``rankdir`` (``'TB'`` or ``'LR'``), ``graph_attr`` (more graphviz
    graph attributes), ``layers=True`` puts each topological generation (the
    operations that can run once the previous ones have) on one rank, and
    ``scalars=False`` hides scalar variables (:func:`is_scalar`).

    >>> from computations import Computation
    >>> d = dot(Computation(['x'], ['y']), rankdir='LR')
    >>> 'rankdir=LR' in d.source and 'v1 [label=y peripheries=2 shape=ellipse]' in d.source
    True
    >>> import sympy
    >>> a, x = sympy.Symbol('a'), sympy.MatrixSymbol('x', 2, 2)
    >>> 'label=a' in dot(Computation([a, x], ['y']), scalars=False).source
    False
    """
    comp = _composite(comp)
    drawing = graphviz.Digraph(name=name or 'computation',
                               graph_attr={'rankdir': rankdir, **(graph_attr or {})})
    shown = [var for var in comp.variables if scalars or not is_scalar(var)]
    # An operation whose outputs are its inputs (Identity) computes nothing:
    # it marks wanted outputs, which the double border already shows.
    ops = [op for op in comp.toposort() if not set(op.outputs) <= set(op.inputs)]
    ids, outputs = {}, set(comp.outputs)
    for i, var in enumerate(shown):
        ids['variable', var] = node = f'v{i}'
        extra = {'peripheries': '2'} if var in outputs else {}
        drawing.node(node, label=_label(variable_label(var)), shape='ellipse', **extra)
    for i, op in enumerate(ops):
        ids['operation', op] = node = f'op{i}'
        drawing.node(node, label=_label(operation_label(op)), shape='box')
    edges = []
    for op in ops:
        red = overwritten_inputs(op)
        for var in op.inputs:
            if ('variable', var) in ids:
                edges.append((ids['variable', var], ids['operation', op],
                              OVERWRITE_EDGE if var in red else {}))
        for var in dict.fromkeys(op.outputs):
            if ('variable', var) in ids:
                edges.append((ids['operation', op], ids['variable', var],
                              OVERWRITE_EDGE if red and _same_buffer(var, red) else {}))
    for tail, head, attrs in edges:
        drawing.edge(tail, head, **attrs)
    if layers:
        _rank_layers(drawing, ids.values(), edges)
    return drawing


def _label(text):
    """A graphviz label: backslashes literal, newlines as DOT's centred line breaks."""
    return graphviz.nohtml(text.replace('\\', '\\\\').replace('\n', '\\n'))


def _same_buffer(var, overwritten):
    token = getattr(var, 'token', None)
    return token is not None and any(getattr(v, 'token', None) == token for v in overwritten)


def _rank_layers(drawing, nodes, edges):
    """Put each topological generation of the drawn graph on one rank."""
    graph = networkx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from((tail, head) for tail, head, _ in edges)
    for generation in networkx.topological_generations(graph):
        with drawing.subgraph() as rank:
            rank.attr(rank='same')
            for node in sorted(generation, key=lambda n: (len(n), n)):
                rank.node(node)


def write(comp, path, format=None, **options):
    """Render a computation's picture to ``path`` with the ``dot`` binary; return the path.

    The format comes from ``format`` or else the file's suffix (``.svg``,
    ``.png``, ``.pdf``, ...).  ``options`` go to :func:`dot`.

    >>> from computations import Computation
    >>> import tempfile
    >>> path = write(Computation(['x'], ['y']), pathlib.Path(tempfile.mkdtemp()) / 'c.png')
    >>> path.read_bytes()[:4]
    b'\\x89PNG'
    """
    path = pathlib.Path(os.fspath(path))
    format = format or path.suffix.lstrip('.').lower()
    if not format:
        raise ValueError(f'cannot tell the picture format of {str(path)!r}: give it a '
                         "suffix such as '.svg' or pass format='svg'")
    if format not in graphviz.FORMATS:
        raise ValueError(f'{format!r} is not a graphviz output format; '
                         "use one of 'svg', 'png', 'pdf', ...")
    data = dot(comp, **options).pipe(format=format)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def svg(comp, **options):
    """The picture of a computation as an SVG document (a string).

    >>> from computations import Computation
    >>> svg(Computation(['x'], ['y'])).lstrip().startswith('<?xml')
    True
    """
    return dot(comp, **options).pipe(format='svg', encoding='utf-8')


def mimebundle(comp, include=None, exclude=None, text=None):
    """Jupyter's rich display: SVG, and the text form (``text`` or ``str(comp)``) as a fallback.

    Without the ``dot`` binary only the text is offered.

    >>> from computations import Computation
    >>> sorted(mimebundle(Computation(['x'], ['y'])))
    ['image/svg+xml', 'text/plain']
    """
    def wanted(mime):
        return (include is None or mime in include) and not (exclude and mime in exclude)

    bundle = {}
    if wanted('image/svg+xml'):
        try:
            bundle['image/svg+xml'] = svg(comp)
        except graphviz.ExecutableNotFound:
            pass
    if wanted('text/plain'):
        bundle['text/plain'] = str(comp) if text is None else text
    return bundle
