"""Display: pictures of token programs, drawing options, rich display, golden text forms.

The token-program picture of ``X = SCAL(2, X)`` after ``Y = GEMM(X, X)``
(donated ``X``)::

    X[X] --red--> [SCAL] --red--> 2*X[X]
      \\--------> [GEMM] -------> X**2[pow_X]

Golden files live in tests/golden/; after a deliberate change to a text form,
rewrite them with ``COMPUTATIONS_UPDATE_GOLDEN=1 ./dev test tests/test_display.py``
and review the diff.
"""
import functools
import os
import pathlib
import re
import xml.etree.ElementTree as ET

import networkx as nx
import pytest
import sympy

import computations
from computations import Computation, Identity
from computations.examples import minmax
from computations.matrices import GEMM, SCAL
from computations.matrices.examples import kalman_program
from computations.matrices.examples.problems import PROBLEMS
from computations.inplace import inplace_compile

GOLDEN = pathlib.Path(__file__).parent / 'golden'
SVG = '{http://www.w3.org/2000/svg}'
NODE = re.compile(r'^\s*(\w+) \[label=("(?:[^"\\]|\\.)*"|\S+)(.*)\]$')
EDGE = re.compile(r'^\s*(\w+) -> (\w+)(?: \[(.*)\])?$')


def parse(source):
    """Node labels (unquoted) and edges (tail, head, attributes) of a dot source."""
    labels, edges = {}, []
    for line in source.splitlines():
        if m := EDGE.match(line):
            edges.append((m[1], m[2], m[3] or ''))
        elif m := NODE.match(line):
            labels[m[1]] = m[2].strip('"').replace('\\n', '\n')
    return labels, edges


@functools.lru_cache(maxsize=None)     # one Function per problem: compiling is the slow part
def compiled(name):
    problem = PROBLEMS[name]()
    return computations.function(problem.inputs, problem.outputs, problem.assumptions,
                                 names=problem.names)


def token_programs():
    X = sympy.MatrixSymbol('X', 3, 3)
    yield 'scal', inplace_compile(SCAL(2, X) + GEMM(1, X, X), donate=[X])
    for name in sorted(PROBLEMS):
        yield name, compiled(name).program


@pytest.mark.parametrize('name, program', list(token_programs()))
def test_token_program_edges_into_overwritten_buffers_are_red(name, program):
    labels, edges = parse(program.dot().source)
    ops = [op for op in program.toposort() if not set(op.outputs) <= set(op.inputs)]
    op_ids = {f'op{i}': op for i, op in enumerate(ops)}
    assert set(op_ids) == {n for n in labels if n.startswith('op')}
    red = [(tail, head) for tail, head, attrs in edges if 'color=red' in attrs]
    # One red edge into and one out of each overwritten buffer, and no others.
    assert len(red) == 2 * sum(len(op.destroyed) for op in ops)
    for tail, head in red:
        op = op_ids.get(head) or op_ids[tail]
        value = labels[tail if head in op_ids else head]
        token = value.rsplit('\n[', 1)[1].rstrip(']')
        assert token in {op.input_tokens[i] for i in op.destroyed}, (name, tail, head)
    if name == 'scal':
        assert sum(op.destroyed != frozenset() for op in ops) == 1


@pytest.mark.parametrize('name, program', list(token_programs()))
def test_token_program_values_show_their_tokens(name, program):
    labels, _ = parse(program.dot().source)
    shown = sorted(label for node, label in labels.items() if node.startswith('v'))
    assert shown == sorted(f'{var.expr}\n[{var.token}]' for var in program.variables)
    routines = sorted(label for node, label in labels.items() if node.startswith('op'))
    assert 'TokenComputation' not in routines
    assert routines == sorted(type(op.comp).__name__ for op in program.toposort()
                              if not set(op.outputs) <= set(op.inputs))


def test_identity_is_not_drawn_but_its_variables_are_outputs():
    c = Computation(['x'], ['y']) + Computation(['y'], ['z']) + Identity('y')
    labels, edges = parse(c.dot().source)
    assert sorted(labels.values()) == ['Computation', 'Computation', 'x', 'y', 'z']
    assert len(edges) == 4
    assert c.dot().source.count('peripheries=2') == 2          # y and z


@pytest.mark.parametrize('name', sorted(PROBLEMS))
def test_layers_rank_each_generation(name):
    """With layers=True each node sits in one rank=same group, and every edge goes down."""
    source = compiled(name).dot(layers=True).source
    labels, edges = parse(source)
    ranks = {}
    for i, group in enumerate(re.findall(r'\{\s*rank=same\s*([^}]*)\}', source)):
        for node in group.split():
            assert node not in ranks
            ranks[node] = i
    assert set(ranks) == set(labels)
    assert all(ranks[tail] < ranks[head] for tail, head, _ in edges)


def test_hiding_scalars():
    alpha, beta = sympy.symbols('alpha beta')
    X, Y = sympy.MatrixSymbol('X', 3, 3), sympy.MatrixSymbol('Y', 3, 3)
    c = GEMM(alpha, X, Y) + GEMM(beta, X * Y * alpha, X)
    for drawing in (c.dot(scalars=False), inplace_compile(c).dot(scalars=False)):
        labels, edges = parse(drawing.source)
        assert not any(re.search(r'\b(alpha|beta)(\n|$)', label) for label in labels.values())
        assert {n for edge in edges for n in edge[:2]} <= set(labels)
    shown, _ = parse(c.dot().source)
    assert {'alpha', 'beta'} <= set(shown.values())


def svg_root(document):
    root = ET.fromstring(document.encode())
    assert root.tag == SVG + 'svg'
    return root


def displayed():
    f = compiled('kalman')
    yield 'Computation', minmax().toposort()[1]
    yield 'CompositeComputation', minmax()
    yield 'TokenProgram', f.program
    yield 'Function', f


@pytest.mark.parametrize('kind, thing', list(displayed()))
def test_rich_display_is_valid_svg_and_text(kind, thing):
    bundle = thing._repr_mimebundle_()
    assert set(bundle) == {'image/svg+xml', 'text/plain'}
    texts = [t.text for t in svg_root(bundle['image/svg+xml']).iter(SVG + 'text')]
    assert texts and bundle['text/plain'] == str(thing)
    if kind == 'Function':
        assert 'SYRK' in texts and str(thing).splitlines()[0] == \
            'function(mu, Sigma, H, R, data) -> newmu, newSigma'
    if kind == 'TokenProgram':
        assert any(t.startswith('[') and t.endswith(']') for t in texts)   # tokens shown


def golden_texts():
    yield 'minmax', lambda: str(minmax())
    yield 'kalman_program', lambda: str(kalman_program())
    for name in sorted(PROBLEMS):
        yield f'{name}_computation', lambda name=name: str(compiled(name).computation)
        yield f'{name}_token_program', lambda name=name: str(compiled(name).program)
        yield f'{name}_function', lambda name=name: str(compiled(name))


@pytest.mark.parametrize('name, text', list(golden_texts()))
def test_text_forms_are_stable(name, text):
    """``str`` of the bundled examples: one operation per line, in execution order."""
    path = GOLDEN / f'{name}.txt'
    got = text() + '\n'
    if os.environ.get('COMPUTATIONS_UPDATE_GOLDEN'):
        path.write_text(got)
    assert path.exists(), f'no golden file {path}: run with COMPUTATIONS_UPDATE_GOLDEN=1'
    assert got == path.read_text()


def test_text_form_lists_operations_in_execution_order():
    """Each line's inputs are produced by earlier lines (or are inputs of the program)."""
    f = compiled('kalman')
    program = f.program
    lines = str(program).splitlines()
    assert lines == [str(op) for op in program.toposort()]
    graph = nx.DiGraph(program.edges())
    order = {op: i for i, op in enumerate(program.toposort())}
    for op in program.toposort():
        for var in op.inputs:
            for producer in graph.predecessors(var):
                assert order[producer] < order[op]
