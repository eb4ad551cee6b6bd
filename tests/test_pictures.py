"""Tests for computations.pictures: networkx views, graphviz drawings, real rendering.

These run the real ``dot`` binary: ./dev installs it, and a missing binary is
a failure here, never a skip.
"""
import shutil
import xml.etree.ElementTree as ET

import graphviz
import networkx as nx
import pytest
import sympy

from computations import Computation, CompositeComputation, Identity, pictures
from computations.examples import A, MinMax, minmax

SVG = '{http://www.w3.org/2000/svg}'


def svg_texts(document):
    root = ET.fromstring(document.encode())
    assert root.tag == SVG + 'svg'
    return [t.text for t in root.iter(SVG + 'text')]


def test_dot_binary_is_installed():
    assert shutil.which('dot'), 'the graphviz dot binary is missing: run ./dev test'


def test_to_networkx_minmax():
    """w -> [A] -> x -> [MinMax] -> Min(x, y), Max(x, y);  y -> [MinMax]"""
    w, x, y = sympy.symbols('w x y')
    c = minmax()
    g = pictures.to_networkx(c)
    a, mm = A([w], [x]), MinMax(x, y)
    assert set(g.edges) == {(w, a), (a, x), (x, mm), (y, mm),
                            (mm, sympy.Min(x, y)), (mm, sympy.Max(x, y))}
    assert g.nodes[a] == {'kind': 'operation', 'bipartite': 1, 'label': 'A'}
    assert g.nodes[x] == {'kind': 'variable', 'bipartite': 0, 'label': 'x',
                          'role': 'intermediate'}
    assert g.nodes[w]['role'] == 'input' and g.nodes[sympy.Max(x, y)]['role'] == 'output'
    variables = {n for n, d in g.nodes(data='bipartite') if d == 0}
    assert nx.bipartite.is_bipartite_node_set(g.to_undirected(), variables)


def test_to_networkx_identity_reads_only():
    """x -> [f] -> y -> [Identity]"""
    f, i = Computation(['x'], ['y']), Identity('y')
    g = (f + i).to_networkx()
    assert set(g.edges) == {('x', f), (f, 'y'), ('y', i)}
    assert nx.is_directed_acyclic_graph(g)


def test_dot_shapes_labels_and_edges():
    """w -> [A] -> x -> [MinMax] -> Min(x, y), Max(x, y);  y -> [MinMax]"""
    d = minmax().dot()
    assert isinstance(d, graphviz.Digraph)
    body = d.source
    for line in ['v0 [label=w shape=ellipse]', 'v1 [label=x shape=ellipse]',
                 'op0 [label=A shape=box]', 'op1 [label=MinMax shape=box]',
                 'v3 [label="Min(x, y)" peripheries=2 shape=ellipse]',
                 'v0 -> op0', 'op0 -> v1', 'v1 -> op1', 'v2 -> op1', 'op1 -> v3', 'op1 -> v4']:
        assert line in body
    assert body.count('->') == 6


def test_dot_is_deterministic():
    members = [Computation([f'v{i}'], [f'v{i + 1}']) for i in range(6)]
    assert CompositeComputation(*members).dot().source == \
        CompositeComputation(*reversed(members)).dot().source


def test_dot_escapes_labels():
    c = Computation(['a"b', 'c\\n'], ['{d}'])
    texts = svg_texts(pictures.svg(c))
    assert {'a"b', 'c\\n', '{d}'} <= set(texts)


def test_dot_options():
    d = minmax().dot(rankdir='LR', name='mm', graph_attr={'bgcolor': 'white'})
    assert d.name == 'mm' and 'rankdir=LR' in d.source and 'bgcolor=white' in d.source


def test_svg_parses_and_names_every_operation():
    """The real dot binary draws the MinMax example."""
    c = minmax()
    texts = svg_texts(c._repr_svg_())
    for op in c.toposort():
        assert pictures.operation_label(op) in texts
    for var in c.variables:
        assert str(var) in texts


@pytest.mark.parametrize('suffix, magic', [('svg', b'<?xml'), ('png', b'\x89PNG'),
                                           ('pdf', b'%PDF')])
def test_write_renders_each_format(tmp_path, suffix, magic):
    path = minmax().write(tmp_path / 'sub' / f'minmax.{suffix}')
    assert path.read_bytes().startswith(magic)


def test_write_explicit_format_and_bad_formats(tmp_path):
    path = minmax().write(str(tmp_path / 'picture'), format='svg')
    assert path.read_bytes().startswith(b'<?xml')
    with pytest.raises(ValueError, match='cannot tell the picture format'):
        minmax().write(tmp_path / 'picture')
    with pytest.raises(ValueError, match="'docx' is not a graphviz output format"):
        minmax().write(tmp_path / 'picture.docx')


def test_mimebundle():
    c = minmax()
    bundle = c._repr_mimebundle_()
    assert set(bundle) == {'image/svg+xml', 'text/plain'}
    assert 'MinMax' in svg_texts(bundle['image/svg+xml'])
    assert bundle['text/plain'] == str(c)
    assert set(c._repr_mimebundle_(include=['text/plain'])) == {'text/plain'}
    assert set(c._repr_mimebundle_(exclude=['text/plain'])) == {'image/svg+xml'}


def test_mimebundle_without_dot_falls_back_to_text(monkeypatch):
    monkeypatch.setenv('PATH', '/nonexistent')
    assert minmax()._repr_svg_() is None          # IPython then shows the text
    assert set(minmax()._repr_mimebundle_()) == {'text/plain'}
    with pytest.raises(graphviz.ExecutableNotFound):  # asked for explicitly: says so
        minmax().dot().pipe(format='svg')


def test_labels_are_registries():
    class Shout(Computation):
        __slots__ = ()

    pictures.operation_label.register(Shout, lambda comp: 'SHOUT!')
    assert 'op0 [label="SHOUT!" shape=box]' in Shout(['x'], ['y']).dot().source
    assert 'op0 [label=Computation shape=box]' in Computation(['x'], ['y']).dot().source


def test_pictures_reject_non_computations():
    with pytest.raises(TypeError, match='expected a Computation, got int'):
        pictures.dot(3)


# Output names, the legend, and the copies of the generated source ---------------------

import re  # noqa: E402

from sympy import MatrixSymbol, Q  # noqa: E402

import computations  # noqa: E402
from computations.inplace import Copy  # noqa: E402
from computations.matrices.examples.kalman import kalman  # noqa: E402

NODE = re.compile(r'^\s*("[^"]*"|\w+) \[label=("(?:[^"\\]|\\.)*"|\S+)(.*)\]$')
EDGE = re.compile(r'^\s*("[^"]*"|\w+) -> ("[^"]*"|\w+)(?: \[(.*)\])?$')
COPY_LINE = re.compile(r"^\s*(\w+)(?:\[\.\.\.\] = (\w+)| = (\w+)\.copy\(order='F'\))$")


def parse_dot(source):
    """``{node: (label lines, attributes)}`` and ``[(tail, head, attributes)]``, legend
    nodes included (their ids quoted: ``"legend-routine"``)."""
    nodes, edges = {}, []
    for line in source.splitlines():
        if m := EDGE.match(line):
            edges.append((m[1].strip('"'), m[2].strip('"'), m[3] or ''))
        elif m := NODE.match(line):
            nodes[m[1].strip('"')] = (m[2].strip('"').split('\\n'), m[3])
    return nodes, edges


def picture_options(f):
    """What ``Function.dot`` should pass to the program's picture, derived independently:
    the given names of the outputs, and the copies the generated source makes inside the
    routine that reads them (the nodes it does not emit)."""
    emitted = set(f.default.generated().steps)
    names = dict(zip(f.default.results, f.names)) \
        if f.structure.kind in ('named', 'dict') else None
    return dict(names=names, folded=[node for node in f.default.order
                                     if node.produced and node not in emitted])


def kalman_function():
    inputs, outputs, assumptions = kalman()
    return computations.function(inputs, outputs, assumptions, names=['newmu', 'newSigma'])


def posv_function():
    """``X = S**-1*B``: POSV overwrites both its arguments, the caller's S and B."""
    S, B = MatrixSymbol('S', 3, 3), MatrixSymbol('B', 3, 2)
    return computations.function([S, B], {'X': S.I * B}, [Q.positive_definite(S)])


def styles_used(nodes, edges):
    """The STYLES a picture's program nodes and edges use, read back from their DOT."""
    used = set()
    for node, (label, attrs) in nodes.items():
        if node.startswith('legend-'):
            continue
        if 'shape=box' in attrs:
            used.add('routine')
        elif 'peripheries=2' in attrs:
            used.add('output')
        else:
            used.add('buffer' if label[-1].startswith('[') else 'value')
    for tail, head, attrs in edges:
        if not tail.startswith('legend-'):
            used.update(key for key, style in pictures.STYLES.items()
                        if style.element == 'edge' and attrs == ' '.join(
                            f'{k}={v}' for k, v in sorted(style.attrs.items())))
    return used


def legend_entries(nodes):
    return {node[len('legend-'):] for node in nodes
            if node.startswith('legend-') and not node.endswith('-from')}


@pytest.mark.parametrize('make', [kalman_function, posv_function])
def test_outputs_are_labelled_with_their_given_names(make):
    f = make()
    nodes, _ = parse_dot(f.program.dot(**picture_options(f)).source)
    outputs = {node: label for node, (label, attrs) in nodes.items()
               if 'peripheries=2' in attrs and not node.startswith('legend-')}
    named = [label[0].split(' = ', 1)[0] for label in outputs.values() if ' = ' in label[0]]
    assert sorted(named) == sorted(f.names)
    for result, name in zip(f.default.results, f.names):
        assert [name + ' = ' + str(result)] == [label[0] for label in outputs.values()
                                                if label[0].startswith(name + ' = ')]


def test_names_of_a_plain_computation_and_bad_names():
    c = minmax()
    x, y = sympy.symbols('x y')
    assert 'label="smaller = Min(x, y)"' in c.dot(names={sympy.Min(x, y): 'smaller'}).source
    with pytest.raises(ValueError, match=r'names: w is not an output of the computation '
                                         r'\(outputs: Min\(x, y\), Max\(x, y\)\)'):
        c.dot(names={sympy.Symbol('w'): 'w'})
    with pytest.raises(TypeError, match='names must be a dict'):
        c.dot(names=['smaller'])
    with pytest.raises(TypeError, match=r'names: the name of Min\(x, y\) must be a string'):
        c.dot(names={sympy.Min(x, y): 3})


@pytest.mark.parametrize('make', [kalman_function, posv_function])
def test_program_legend_has_an_entry_for_each_style_used(make):
    f = make()
    for options in ({}, picture_options(f)):
        source = f.program.dot(**options).source
        nodes, edges = parse_dot(source)
        assert source.count('subgraph cluster_legend') == 1
        assert legend_entries(nodes) == styles_used(nodes, edges)
        for key in legend_entries(nodes):            # drawn in the style the table gives
            style = pictures.STYLES[key]
            if style.element == 'node':
                assert all(f'{k}={v}' in nodes[f'legend-{key}'][1]
                           for k, v in style.attrs.items())
            else:
                assert (f'legend-{key}-from', f'legend-{key}', ' '.join(
                    f'{k}={v}' for k, v in sorted(style.attrs.items()))) in edges
    assert 'copied' in legend_entries(parse_dot(f.program.dot(**options).source)[0])
    assert 'cluster_legend' not in f.program.dot(legend=False).source


def test_legend_of_mathematical_computations_is_optional():
    c = minmax()
    assert 'legend' not in c.dot().source
    nodes, edges = parse_dot(c.dot(legend=True).source)
    assert legend_entries(nodes) == styles_used(nodes, edges) == {'routine', 'value', 'output'}
    with pytest.raises(TypeError, match='legend must be True, False or None'):
        c.dot(legend='yes')
    assert 'legend' in svg_texts(pictures.svg(c, legend=True))      # the real dot draws it


@pytest.mark.parametrize('make', [kalman_function, posv_function])
def test_picture_shows_the_copies_of_the_generated_source(make):
    """A Copy box for every copy statement of ``f.source`` (``X[...] = Y``, ``X =
    Y.copy(order='F')``), a dashed edge for every copy the source leaves to the routine
    (the call reads the original and writes the copy's buffer), and nothing else."""
    f = make()
    source = f.source
    statements = {(m[1], m[2] or m[3]) for m in map(COPY_LINE.match, source.splitlines()) if m}
    nodes, edges = parse_dot(f.program.dot(**picture_options(f)).source)
    token = {node: label[-1].strip('[]') for node, (label, _) in nodes.items()
             if node.startswith('v')}
    boxes = {node for node, (label, _) in nodes.items() if label == ['Copy']}
    read = {head: tail for tail, head, _ in edges if head in boxes}      # a copy: one in,
    made = {tail: head for tail, head, _ in edges if tail in boxes}      # one out
    drawn = {(token[made[box]], token[read[box]]) for box in boxes}
    assert drawn == statements
    copied = [(tail, head) for tail, head, attrs in edges
              if 'style=dashed' in attrs and not tail.startswith('legend-')]
    copies = [node for node in f.program if isinstance(node.comp, Copy)]
    assert len(copied) + len(boxes) == len(copies)
    lines = [line.split(' = ', 1) for line in source.splitlines() if ' = ' in line]
    for tail, reader in copied:                 # the call reads the original itself
        made = {token[head] for t, head, _ in edges if t == reader}
        assert any(made & set(re.findall(r'\w+', lhs)) and
                   re.search(rf'\b{token[tail]}\b', rhs) for lhs, rhs in lines), (tail, reader)
    if make is posv_function:                   # dposv(S, B): both copies are the routine's
        assert not boxes and statements == set() and len(copied) == 2


def test_kalman_copies_today():
    """The Kalman filter: the copies of data, R, mu and Sigma are all made by the calls
    that read them (GEMV's y, GEMM's and SYRK's C), so the picture folds them all; a copy
    into a reused buffer would be a statement of its own (``R_2[...] = Sigma``, when the
    covariance's SYRK wrote into the buffer of S's factor)."""
    f = kalman_function()
    options = picture_options(f)
    assert sorted(str(node.comp) for node in options['folded']) == \
        ['R = Copy(R)', 'Sigma = Copy(Sigma)', 'data = Copy(data)', 'mu = Copy(mu)']
    assert "[...] = Sigma" not in f.source
    assert f.program.dot().source.count('label=Copy') == 4        # without folding: all four
    assert f.program.dot(**options).source.count('label=Copy') == 0


@pytest.mark.parametrize('make', [kalman_function, posv_function])
def test_function_pictures_show_names_and_the_sources_copies(make):
    f = make()
    options = picture_options(f)
    assert f._picture_options()['names'] == options['names']
    assert set(f._picture_options()['folded']) == set(options['folded'])
    assert f.dot().source == f.program.dot(**options).source
    assert 'image/svg+xml' in f._repr_mimebundle_()


def test_folded_is_checked():
    c = minmax()
    with pytest.raises(ValueError, match='is not an operation of the computation'):
        c.dot(folded=[Computation(['q'], ['r'])])
    with pytest.raises(ValueError, match='cannot be drawn inside its reader'):
        c.dot(folded=[MinMax(*sympy.symbols('x y'))])
    with pytest.raises(TypeError, match='folded must be a collection of operations'):
        c.dot(folded=3)


def test_an_operation_with_no_outputs_is_drawn():
    """A sink (a check, a store) vanished from dot(): its outputs, none, are a subset of
    its inputs, as an Identity's are (review)."""
    c = Computation(['a'], ['b']) + Computation(['b'], [])
    body = c.dot().source
    assert body.count('shape=box') == 2 and 'v1 -> op1' in body


def test_control_characters_in_labels_are_drawn_as_escapes():
    """ESC made SVG that is not XML, NUL made dot fail (and _repr_svg_ raise instead of
    falling back to text), a lone surrogate could not be encoded (review)."""
    import xml.dom.minidom
    c = Computation(['a\x1bb', 'c\x00d', 'e\x07'], ['f\ud800'])
    document = pictures.svg(c)
    xml.dom.minidom.parseString(document)                 # well-formed
    assert {'a\\x1bb', 'c\\x00d', 'e\\x07', 'f\\ud800'} <= set(svg_texts(document))
    assert c._repr_svg_() is not None


def test_a_failing_dot_falls_back_to_the_text_form(monkeypatch):
    def failing(*args, **kwargs):
        raise graphviz.CalledProcessError(1, ['dot'], output=b'', stderr=b'syntax error')
    monkeypatch.setattr(pictures, 'svg', failing)
    assert pictures.repr_svg(Computation(['x'], ['y'])) is None


def test_an_input_wanted_as_an_output_has_both_roles():
    """dot() draws a passed-through input as an output; to_networkx called it an input
    only (review)."""
    from computations import Identity
    g = (Computation(['x'], ['y']) + Identity('x')).to_networkx()
    assert g.nodes['x']['role'] == 'input/output' and g.nodes['y']['role'] == 'output'
