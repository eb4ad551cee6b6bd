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
import collections
import collections.abc
import functools
import importlib.util
import os
import pathlib
import re
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
           'expression', 'to_networkx', 'dot', 'write', 'svg', 'repr_svg', 'mimebundle',
           'Style', 'STYLES', 'OVERWRITE_EDGE', 'BLOCKS', 'block_groups']


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


@functools.singledispatch
def expression(var):
    """The mathematical value a variable stands for: the variable itself.

    Token programs register their values here (a value in a buffer stands for
    its expression), so that ``dot(..., names=...)`` finds an output by the
    expression a function was given.

    >>> expression('x')
    'x'
    """
    return var


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
    ``'output'``, ``'input/output'`` (an input wanted as an output, passed through by
    an Identity, as :func:`dot` draws it) or ``'intermediate'``.

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
        role = ('input/output' if var in outputs else 'input') if var in inputs else \
            'output' if var in outputs else 'intermediate'
        graph.add_node(var, kind='variable', bipartite=0, label=variable_label(var),
                       role=role)
    for op in comp.toposort():
        graph.add_node(op, kind='operation', bipartite=1, label=operation_label(op))
    graph.add_edges_from(comp.edges())
    return graph


class Style(collections.namedtuple('Style', 'element attrs legend')):
    """How :func:`dot` draws one kind of node or edge: ``element`` (``'node'`` or
    ``'edge'``), its graphviz ``attrs`` and the ``legend``'s words for it.

    >>> STYLES['routine']
    Style(element='node', attrs={'shape': 'box'}, legend='routine')
    """
    __slots__ = ()


#: Every kind of node and edge :func:`dot` draws, in the legend's order: the drawing and
#: the legend both read this table.  A value in a buffer (a token program's) shows the
#: buffer's name on a second line; an overwritten edge goes into or out of a buffer the
#: operation writes into; a copied edge is an argument the routine copies itself and
#: writes into the copy (see ``folded`` in :func:`dot`).
STYLES = {
    'routine': Style('node', {'shape': 'box'}, 'routine'),
    'value': Style('node', {'shape': 'ellipse'}, 'value'),
    'buffer': Style('node', {'shape': 'ellipse'}, 'value\n[buffer]'),
    'output': Style('node', {'shape': 'ellipse', 'peripheries': '2'}, 'output'),
    'overwritten': Style('edge', {'color': 'red', 'penwidth': '2'}, 'buffer overwritten'),
    'copied': Style('edge', {'color': 'blue', 'style': 'dashed'}, 'copied by the routine'),
}

#: How :func:`dot` draws an edge into or out of an overwritten buffer.
OVERWRITE_EDGE = STYLES['overwritten'].attrs


#: The pictures of a blocked program (see :func:`dot`): one node per whole value
#: (``'summary'``), every block operation in a cluster of its whole value
#: (``'clusters'``), or every block operation as it is (``'all'``).
BLOCKS = ('summary', 'clusters', 'all')


def dot(comp, *, name=None, rankdir='TB', graph_attr=None, layers=False, scalars=True,
        blocks=None, names=None, legend=None, folded=()):
    """A :class:`graphviz.Digraph` of a computation.

    Variables are ellipses (wanted outputs drawn with a double border),
    operations boxes labelled by :func:`operation_label`.  Node ids follow the
    topological order, so the same computation always gives the same source.
    In a token program each value shows its buffer (token) on a second line,
    and the edges into and out of an overwritten buffer are red
    (:data:`OVERWRITE_EDGE`, from :func:`overwritten_inputs`).  Every style
    comes from :data:`STYLES`.

    ``names`` (``{output: name}``, an output given as the variable or, in a
    token program, its expression: :func:`expression`) labels those outputs
    ``name = expression``.  ``legend`` adds a ``cluster_legend`` subgraph with
    one entry per style the picture uses (:data:`STYLES`); by default
    (None) token programs have one and mathematical computations, whose boxes
    and ellipses need no key, do not.  ``folded`` lists operations (copies)
    that the generated code makes inside the routine that reads them (the
    routine leaves its argument alone and writes into a copy of its own): each
    is drawn as a dashed edge (``STYLES['copied']``) from what it copies to
    its one reader, without a box or a value of its own, as the source shows it.

    Options: ``rankdir`` (``'TB'`` or ``'LR'``), ``graph_attr`` (more graphviz
    graph attributes), ``layers=True`` puts each topological generation (the
    operations that can run once the previous ones have) on one rank, and
    ``scalars=False`` hides scalar variables (:func:`is_scalar`).

    ``blocks`` (one of :data:`BLOCKS`) chooses the picture of a blocked
    program (one with block values, :func:`block_groups`): ``'summary'``, the
    default for such programs, draws one box per operation of the unblocked
    program (per whole value when the block operations do not record it),
    labelled with its routine, the values it makes and how many block
    operations of each routine it took (``GEMM x 16``), between the program's
    inputs and outputs drawn whole; ``'clusters'`` draws every block
    operation, each in a cluster (a graphviz ``cluster_*`` subgraph) of its
    operation;
    ``'all'`` (the default for other programs) draws every operation as it is.
    ``layers=True`` goes with ``'summary'`` and ``'all'`` only.

    >>> from computations import Computation
    >>> d = dot(Computation(['x'], ['y']), rankdir='LR')
    >>> 'rankdir=LR' in d.source and 'v1 [label=y peripheries=2 shape=ellipse]' in d.source
    True
    >>> import sympy
    >>> a, x = sympy.Symbol('a'), sympy.MatrixSymbol('x', 2, 2)
    >>> 'label=a' in dot(Computation([a, x], ['y']), scalars=False).source
    False
    >>> cut = Computation(['X'], ['X[0,0]', 'X[1,0]'])          # a blocked program
    >>> work = Computation(['X[0,0]'], ['t1[0,0]']) + Computation(['X[1,0]'], ['t1[1,0]'])
    >>> blocked = cut + work + Computation(['t1[0,0]', 't1[1,0]'], ['Y'])
    >>> print(dot(blocked).source)
    digraph computation {
    	graph [rankdir=TB]
    	v0 [label=X shape=ellipse]
    	v1 [label=Y peripheries=2 shape=ellipse]
    	op0 [label="t1\\nComputation x 2" shape=box]
    	v0 -> op0
    	op0 -> v1
    }
    <BLANKLINE>
    >>> dot(blocked, blocks='clusters').source.count('subgraph cluster_')
    2
    >>> d = dot(Computation(['x'], ['y']), names={'y': 'result'}, legend=True)
    >>> 'v1 [label="result = y" peripheries=2 shape=ellipse]' in d.source
    True
    >>> print(d.source[d.source.index('subgraph'):])
    subgraph cluster_legend {
    		color=gray50 label=legend style=rounded
    		"legend-routine" [label=routine shape=box]
    		"legend-value" [label=value shape=ellipse]
    		"legend-output" [label=output peripheries=2 shape=ellipse]
    	}
    }
    <BLANKLINE>
    """
    comp = _composite(comp)
    if blocks is None:
        blocks = 'summary' if _is_blocked(comp) else 'all'
    elif blocks not in BLOCKS:
        raise ValueError(f"blocks must be one of {', '.join(map(repr, BLOCKS))}, "
                         f'got {blocks!r}')
    if layers and blocks == 'clusters':        # graphviz drops clusters under rank=same
        raise ValueError("layers=True cannot be combined with blocks='clusters' (graphviz "
                         'ranks cut across clusters); use blocks=\'summary\' or \'all\'')
    names = _check_names(comp, names)
    folded = _check_folded(comp, folded)
    if legend is not None and not isinstance(legend, bool):
        raise TypeError(f'legend must be True, False or None (the default), got {legend!r}')
    drawing = graphviz.Digraph(name=name or 'computation',
                               graph_attr={'rankdir': rankdir, **(graph_attr or {})})
    if blocks == 'summary':
        ids, edges, used = _draw_summary(drawing, comp, scalars, names)
    else:
        ids, edges, used = _draw_all(drawing, comp, scalars, names, folded,
                                     clusters=blocks == 'clusters')
    for tail, head, style in edges:
        drawing.edge(tail, head, **(STYLES[style].attrs if style else {}))
        if style:
            used.add(style)
    if layers:
        _rank_layers(drawing, ids, edges)
    if legend or (legend is None and 'buffer' in used):
        _draw_legend(drawing, used)
    return drawing


def _check_names(comp, names):
    """``names`` as ``{output variable: name}``; a specific error for what does not fit."""
    if names is None:
        return {}
    if not isinstance(names, collections.abc.Mapping):
        raise TypeError(f'names must be a dict {{output: name}}, got {names!r} '
                        f'({type(names).__name__})')
    by_value = {}
    for var in comp.outputs:
        by_value.setdefault(var, var)
        by_value.setdefault(expression(var), var)
    checked = {}
    for key, given in names.items():
        if not isinstance(given, str):
            raise TypeError(f'names: the name of {key} must be a string, got {given!r}')
        if key not in by_value:
            raise ValueError(f'names: {key} is not an output of the computation (outputs: '
                             f"{', '.join(map(str, comp.outputs)) or 'none'})")
        checked[by_value[key]] = given
    return checked


def _check_folded(comp, folded):
    """``folded`` as ``{the value an operation makes: the operation}``; ValueError for an
    operation that is not one of ``comp``'s, or whose one value does not go to one reader."""
    try:
        folded = list(folded)
    except TypeError:
        raise TypeError(f'folded must be a collection of operations, got {folded!r}') from None
    ops = set(comp.toposort())
    values = {}
    for op in folded:
        if op not in ops:
            raise ValueError(f'folded: {op!r} is not an operation of the computation')
        if len(op.outputs) != 1 or len(comp.consumers(op.outputs[0])) != 1 \
                or op.outputs[0] in comp.outputs:
            raise ValueError(f'folded: {op!r} cannot be drawn inside its reader: it must '
                             'make one value, read by one operation and not returned')
        values[op.outputs[0]] = op
    return values


def _draw_legend(drawing, used):
    """The ``cluster_legend`` subgraph: one entry per style in ``used``, from :data:`STYLES`
    (a node drawn in the style, or an edge drawn in it to the style's words).  Its node ids
    (``legend-routine``...) are quoted in DOT, apart from the program's ``v*`` and
    ``op*``."""
    with drawing.subgraph(name='cluster_legend') as legend:
        legend.attr(label='legend', style='rounded', color='gray50')
        for key, style in STYLES.items():
            if key not in used:
                continue
            if style.element == 'node':
                legend.node(f'legend-{key}', label=_label(style.legend), **style.attrs)
            else:
                legend.node(f'legend-{key}-from', label='', shape='point')
                legend.node(f'legend-{key}', label=_label(style.legend), shape='plaintext')
                legend.edge(f'legend-{key}-from', f'legend-{key}', **style.attrs)


def _value_node(var, outputs, names, text=None):
    """``(style, attributes)`` of a value's node: its label (``name = ...`` for a named
    output) and the style of an output, a value in a buffer, or a plain value."""
    text = _named(var, names, variable_label(var)) if text is None else text
    style = 'output' if var in outputs else \
        'buffer' if getattr(var, 'token', None) is not None else 'value'
    return style, dict(label=_label(text), **STYLES[style].attrs)


def _drawn_operations(comp):
    """The operations drawn, in topological order: not those whose outputs are their inputs
    (an Identity computes nothing: it marks wanted outputs, which the double border shows);
    an operation with no outputs at all (a sink) is drawn."""
    return [op for op in comp.toposort()
            if not (op.outputs and set(op.outputs) <= set(op.inputs))]


def _draw_all(drawing, comp, scalars, names, folded, clusters=False):
    """Every variable and operation (but the ``folded`` ones and their values); with
    ``clusters``, each group of :func:`block_groups` in a ``cluster_*`` subgraph.  Returns
    the node ids, the edges ``(tail, head, style or None)`` and the node styles used."""
    shown = [var for var in comp.variables
             if (scalars or not is_scalar(var)) and var not in folded]
    ops = [op for op in _drawn_operations(comp) if op not in folded.values()]
    ids, outputs, used = {}, set(comp.outputs), set()
    nodes = []                                  # (node id, attributes, the node drawn)
    for i, var in enumerate(shown):
        ids['variable', var] = node = f'v{i}'
        style, attrs = _value_node(var, outputs, names)
        used.add(style)
        nodes.append((node, attrs, var))
    for i, op in enumerate(ops):
        ids['operation', op] = node = f'op{i}'
        used.add('routine')
        nodes.append((node, dict(label=_label(operation_label(op)), **STYLES['routine'].attrs),
                      op))
    if clusters:
        _draw_clusters(drawing, comp, nodes)
    else:
        for node, attrs, _ in nodes:
            drawing.node(node, **attrs)
    edges = []
    for op in ops:
        red = overwritten_inputs(op) - set(folded)     # a folded copy: the routine's own
        for var in op.inputs:
            if var in folded:                   # the routine copies what the copy read
                edges.extend((ids['variable', v], ids['operation', op], 'copied')
                             for v in folded[var].inputs if ('variable', v) in ids)
            elif ('variable', var) in ids:
                edges.append((ids['variable', var], ids['operation', op],
                              'overwritten' if var in red else None))
        for var in dict.fromkeys(op.outputs):
            if ('variable', var) in ids:
                edges.append((ids['operation', op], ids['variable', var],
                              'overwritten' if red and _same_buffer(var, red) else None))
    return list(ids.values()), edges, used


def _draw_clusters(drawing, comp, nodes):
    """Draw ``nodes`` each in the cluster of its group (the operations of one group and
    the values they make); a whole input in its cut's cluster, a result outside."""
    groups = block_groups(comp)
    producer = {var: op for op in _drawn_operations(comp) for var in op.outputs}
    members = collections.defaultdict(list)
    for node, attrs, item in nodes:
        if ('operation', item) in groups:
            key = groups['operation', item]
        elif item in producer and ('operation', producer[item]) in groups:
            key = groups['operation', producer[item]]
        else:                                   # an input: in its cut's cluster, if any
            key = ('value', item)
        members[key].append((node, attrs))
    keys = list(dict.fromkeys(groups.values()))
    for index, key in enumerate(keys):
        if key[0] == 'output':                  # an assembled result: drawn as a value
            continue
        with drawing.subgraph(name=f'cluster_{index}') as cluster:
            cluster.attr(label=_label(_group_name(key)), style='rounded', color='gray50')
            for node, attrs in members.pop(key, ()):
                cluster.node(node, **attrs)
    for key in members:
        for node, attrs in members[key]:
            drawing.node(node, **attrs)


def _draw_summary(drawing, comp, scalars, names):
    """One box per group of :func:`block_groups`, the inputs and outputs whole; returns the
    node ids, the edges (group to group when a block of one feeds a block of the other)
    and the node styles used."""
    groups = block_groups(comp)
    inputs, outputs = comp.inputs, comp.outputs
    ids, edges, counts = {}, {}, collections.defaultdict(collections.Counter)
    for var in dict.fromkeys(inputs + outputs):
        if scalars or not is_scalar(var):
            ids['value', var] = f'v{len(ids)}'
    for op in _drawn_operations(comp):
        counts[groups['operation', op]][operation_label(op)] += 1
    boxes = [key for key in dict.fromkeys(groups.values()) if key[0] == 'group']
    for i, key in enumerate(boxes):
        ids[key] = f'op{i}'
    used = set()
    for var in dict.fromkeys(inputs + outputs):
        if ('value', var) in ids:
            style, attrs = _value_node(var, set(outputs), {},
                                       _wrap(_named(var, names, variable_label(var))))
            used.add(style)
            drawing.node(ids['value', var], **attrs)
    for key in boxes:
        routines = sorted(counts[key].items(), key=lambda item: (-item[1], item[0]))
        text = '\n'.join([_group_name(key)] + [f'{r} x {n}' for r, n in routines])
        used.add('routine')
        drawing.node(ids[key], label=_label(text), **STYLES['routine'].attrs)
    producer = {var: op for op in _drawn_operations(comp) for var in op.outputs}
    for op in _drawn_operations(comp):
        head = ids.get(_whole(groups['operation', op]))
        for var in op.inputs:
            if var in producer:
                tail = ids.get(_whole(groups['operation', producer[var]]))
            else:
                tail = ids.get(('value', var))
            if tail is not None and head is not None and tail != head:
                edges[tail, head] = None
        for var in op.outputs:
            if var in outputs and ('value', var) in ids and head is not None \
                    and head != ids['value', var]:
                edges[head, ids['value', var]] = None
    return list(ids.values()), [(tail, head, None) for tail, head in edges], used


def _named(var, names, text):
    """``text``, the label of ``var``, after its name (``name = ...``) if it has one."""
    return f'{names[var]} = {text}' if var in names else text


def _wrap(text, width=40):
    """``text`` with each line longer than ``width`` broken after spaces and ``*``.

    >>> print(_wrap('Sigma - Sigma.T*H.T*(H*Sigma.T*H.T + R)**(-1)*H*Sigma', 24))
    Sigma - Sigma.T*H.T*(H*
    Sigma.T*H.T + R)**(-1)*
    H*Sigma
    """
    lines = []
    for line in text.split('\n'):
        current = ''
        for piece in re.findall(r'[^ *]*(?:\*+|[ ]|$)', line):
            if current and len(current) + len(piece.rstrip()) > width:
                lines.append(current.rstrip())
                current = ''
            current += piece
        lines.append(current.rstrip())
    return '\n'.join(lines)


#: A block's name: the whole value's, then the block's position (``t2[0,1]``, a partial
#: sum ``t2[0,1].1``, a transpose ``t2[0,1].T``; ``X[:,:]`` is all of ``X`` as one block).
#: See :mod:`computations.matrices.transforms.blocking`.
_BLOCK_NAME = re.compile(r'(.+?)\[(?:\d+,\d+|:,:)\]')


def _value_name(var):
    """The name of the whole value ``var`` is a block of (its own name if it is not one)."""
    text = _first_line(var)
    found = _BLOCK_NAME.match(text)
    return found.group(1) if found else text


def _first_line(var):
    """A variable's label up to its first line break (a token program's value: its
    expression, not its buffer)."""
    return variable_label(var).split('\n', 1)[0]


def _is_block(var):
    return _BLOCK_NAME.match(_first_line(var)) is not None


def _is_blocked(comp):
    return any(map(_is_block, comp.variables))


def block_groups(comp):
    """The whole operation (or value) each operation of a blocked program is a step of.

    Returns ``{('operation', op): key}`` for every operation ``op`` that
    computes something (not an Identity, whose outputs are its inputs); the key
    is ``('group', name)`` for the steps of one operation of the unblocked
    program when the block operation records it (``origin``: ``'POSV: chol(t3),
    t4'``, the routine and the values its steps make), else for the blocks of
    the value ``name``, ``('value',
    var)`` for the operations that cut the input ``var`` into blocks, or
    ``('output', var)`` for those that assemble the result ``var``.  A block
    is named after its whole value (``t2[0,1]``, a partial sum ``t2[0,1].1``:
    see :mod:`computations.matrices.transforms.blocking`), so an operation
    belongs to the value its first output is a block of.

    >>> from computations import Computation
    >>> cut = Computation(['X'], ['X[0,0]', 'X[1,0]'])
    >>> work = Computation(['X[0,0]'], ['t1[0,0].1']) + Computation(['t1[0,0].1'], ['t1[0,0]'])
    >>> join = Computation(['t1[0,0]', 'X[1,0]'], ['Y'])
    >>> sorted(block_groups(cut + work + join).values())
    [('group', 't1'), ('group', 't1'), ('output', 'Y'), ('value', 'X')]
    """
    comp = _composite(comp)
    inputs = {_value_name(var): var for var in comp.inputs}
    outputs = set(comp.outputs)
    groups, names = {}, {}                  # names: an origin -> the values its steps make
    for op in _drawn_operations(comp):
        if not op.outputs:
            name = operation_label(op)
        else:
            name = _value_name(op.outputs[0])
        if name in inputs:
            groups['operation', op] = ('value', inputs[name])
        elif op.inputs and set(op.outputs) <= outputs and all(map(_is_block, op.inputs)) \
                and not any(map(_is_block, op.outputs)):    # a result assembled
            groups['operation', op] = ('output', op.outputs[0])
        else:
            origin = _origin(op)
            groups['operation', op] = ('group', name) if origin is None else \
                ('origin', origin, names.setdefault(origin, {}).setdefault(name, name))
    # An operation's group is named after every value its steps make: POSV's blocks of its
    # Cholesky factor and of its solution are one box, "POSV: chol(t3), t4".
    for key, group in groups.items():
        if group[0] == 'origin':
            origin = group[1]
            groups[key] = ('group', f"{type(origin).__name__}: {', '.join(names[origin])}")
    return groups


def _origin(op):
    """The operation of the unblocked program a block operation is a step of (a BlockOp's
    ``origin``, seen through a token program's node), or None."""
    return getattr(getattr(op, 'comp', op), 'origin', None)


def _group_name(key):
    kind, item = key
    return item if kind == 'group' else _first_line(item)


def _whole(key):
    """The summary node of a group: a box, or the whole input or result it cuts or makes."""
    return key if key[0] == 'group' else ('value', key[1])


def _label(text):
    """A graphviz label: backslashes literal, newlines as DOT's centred line breaks, other
    control characters and lone surrogates written as escapes (``\\x1b``), which SVG
    cannot hold (ESC made invalid XML, NUL made ``dot`` fail).

    >>> str(_label(chr(27) + 'x')) == chr(92) * 2 + 'x1bx'
    True
    """
    text = text.translate(_ESCAPES)
    return graphviz.nohtml(text.replace('\\', '\\\\').replace('\n', '\\n'))


#: Characters a label shows as escapes: C0 and C1 controls but the newline, and surrogates.
_ESCAPES = {**{code: f'\\x{code:02x}' for code in (*range(32), *range(127, 160))
               if code != ord('\n')},
            **{code: f'\\u{code:04x}' for code in range(0xD800, 0xE000)}}


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


def repr_svg(comp, **options):
    """The SVG for Jupyter's ``_repr_svg_``, or None when graphviz's ``dot`` binary is missing.

    ``options`` go to :func:`dot`.

    None is IPython's way of saying "no SVG": the notebook shows the text
    form instead of a traceback (also when ``dot`` fails on the graph).  :func:`svg` and :func:`write`, asked for a
    picture explicitly, raise :class:`graphviz.ExecutableNotFound` then.

    >>> from computations import Computation
    >>> repr_svg(Computation(['x'], ['y'])).lstrip().startswith('<?xml')
    True
    """
    try:
        return svg(comp, **options)
    except (graphviz.ExecutableNotFound, graphviz.CalledProcessError):
        return None             # no dot, or dot failed: the text form is shown instead


def mimebundle(comp, include=None, exclude=None, text=None, **options):
    """Jupyter's rich display: SVG, and the text form (``text`` or ``str(comp)``) as a fallback.

    Without graphviz's ``dot`` binary only the text is offered.  ``options``
    go to :func:`dot`.

    >>> from computations import Computation
    >>> sorted(mimebundle(Computation(['x'], ['y'])))
    ['image/svg+xml', 'text/plain']
    """
    def wanted(mime):
        return (include is None or mime in include) and not (exclude and mime in exclude)

    bundle = {}
    if wanted('image/svg+xml'):
        picture = repr_svg(comp, **options)
        if picture is not None:
            bundle['image/svg+xml'] = picture
    if wanted('text/plain'):
        bundle['text/plain'] = str(comp) if text is None else text
    return bundle
