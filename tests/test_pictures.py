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
