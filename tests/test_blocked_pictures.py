"""Pictures of blocked programs: the summary (the default) and the clustered picture.

The summary of ``A*B`` at 2x2 blocks (A 4x3, B 3x2): one box per operation of the
unblocked program, named by its routine and the values its block operations make::

    A   B
     \\ /
    [GEMM: t1 / GEMM x 4]
      |
     A*B

These run the real ``dot`` binary (./dev installs it), except where it is hidden on purpose.
"""
import collections
import re

import graphviz
import pytest
from sympy import MatrixSymbol

import computations
from computations import Computation, pictures
from computations.examples import minmax
from computations.matrices import GEMM
from computations.matrices.examples.problems import PROBLEMS
from computations.matrices.transforms.blocking import Assemble, BlockOp, Split, block

NODE = re.compile(r'^\s*(\w+) \[label=("(?:[^"\\]|\\.)*"|\S+)(.*)\]$')
EDGE = re.compile(r'^\s*(\w+) -> (\w+)(?: \[(.*)\])?$')
CLUSTER = re.compile(r'^\s*subgraph (cluster_\w+) \{$')     # cluster_legend too
CLUSTER_LABEL = re.compile(r'^\s*color=gray50 label=("(?:[^"\\]|\\.)*"|\S+) style=rounded$')

GEMM_SUMMARY = '''\
digraph computation {
	graph [rankdir=TB]
	v0 [label=A shape=ellipse]
	v1 [label=B shape=ellipse]
	v2 [label="A*B" peripheries=2 shape=ellipse]
	op0 [label="GEMM: t1\\nGEMM x 4" shape=box]
	v0 -> op0
	v1 -> op0
	op0 -> v2
}
'''


def parse(source):
    """Node labels (unquoted, lines split), edges, and the cluster of each node (or None)."""
    labels, edges, cluster_of, cluster_labels, current = {}, [], {}, {}, None
    for line in source.splitlines():
        if CLUSTER.match(line):
            current = CLUSTER.match(line).group(1)
        elif line.strip() == '}':
            current = None
        elif CLUSTER_LABEL.match(line):
            cluster_labels[current] = CLUSTER_LABEL.match(line).group(1).strip('"')
        elif NODE.match(line):
            node, label, _ = NODE.match(line).groups()
            labels[node] = label.strip('"').split('\\n')
            cluster_of[node] = current
        elif EDGE.match(line):
            edges.append(EDGE.match(line).groups()[:2])
    return labels, edges, {node: cluster_labels.get(c) for node, c in cluster_of.items()}


def blocked_gemm():
    A, B = MatrixSymbol('A', 4, 3), MatrixSymbol('B', 3, 2)
    return block(GEMM(1, A, B), blocksize=2)


@pytest.fixture(scope='module')
def kalman():
    """The Kalman filter at 4x4 blocks (n = 400 in blocks of 100, k = 200 in blocks of 50)."""
    problem = PROBLEMS['kalman']()
    return computations.function(problem.inputs, problem.outputs, problem.assumptions,
                                 sizes={'n': 400, 'k': 200},
                                 blocksize={'n': 100, 'k': 50}, names=problem.names)


def expected_groups(comp):
    """{(routine of the unblocked operation, the values its steps make): Counter of
    routines}, counted from the block operations and their ``origin`` themselves."""
    values, counts = collections.defaultdict(set), collections.defaultdict(collections.Counter)
    for op in comp:
        if isinstance(op, BlockOp):
            values[op.origin].add(group(str(op.names[0])))
            counts[op.origin][type(op.op).__name__] += 1
    return {(type(origin).__name__, frozenset(values[origin])): counts[origin]
            for origin in counts}


def box(first_line):
    """``(routine, values)`` of a summary box's first line (``'POSV: chol(t3), t4'``), or
    the line itself for a whole input or result."""
    routine, sep, names = first_line.partition(': ')
    return (routine, frozenset(names.split(', '))) if sep else first_line


def test_summary_golden_text_of_a_small_blocked_program():
    assert blocked_gemm().dot().source == GEMM_SUMMARY
    assert blocked_gemm().dot(blocks='summary').source == GEMM_SUMMARY


def test_summary_of_kalman_one_box_per_whole_value_with_its_block_counts(kalman):
    computation = kalman.computation
    labels, edges, _ = parse(kalman.dot().source)
    boxes = {box(lines[0]): collections.Counter({routine: int(n) for routine, n in
                                                 (line.split(' x ') for line in lines[1:])})
             for node, lines in labels.items() if node.startswith('op')}
    assert boxes == expected_groups(computation)
    t = {name: ('GEMV', frozenset({name})) for name in ('t1', 't6')}
    t.update({name: ('TRSM', frozenset({name})) for name in ('t4', 't5')})
    t.update({'t2': ('SYMM', frozenset({'t2'})), 't3': ('GEMM', frozenset({'t3'})),
              't7': ('SYRK', frozenset({'t7'})), 'potrf': ('POTRF', frozenset({'chol(t3)'}))})
    assert set(boxes) == set(t.values())
    assert boxes[t['t2']] == {'GEMM': 48, 'SYMM': 16} and boxes[t['t1']] == {'GEMV': 16}
    # The inputs and outputs whole, never a block.
    values = {node: lines[0] for node, lines in labels.items() if node.startswith('v')}
    assert {'H', 'R', 'Sigma', 'data', 'mu'} <= set(values.values())
    assert len(values) == 7 and not any(re.search(r'\[\d', name) for name in values.values())
    # An edge between two whole values when a block of one feeds a block of the other.
    named = {(box(labels[tail][0]), box(labels[head][0])) for tail, head in edges}
    newmu, = (name for name in values.values() if name.startswith('newmu = '))  # its given name
    assert {('H', t['t2']), ('Sigma', t['t2']), (t['t2'], t['t3']), ('R', t['t3']),
            (t['t3'], t['potrf']), (t['potrf'], t['t5']), (t['potrf'], t['t4']),
            (t['t5'], t['t7']), (t['t5'], t['t6']), (t['t4'], t['t6']),
            (t['t6'], newmu)} <= named
    box_of = {name: key for key in boxes for name in key[1]}
    feeds = {(box_of[group(p)], box_of[group(c)]) for p, c in _block_edges(computation)}
    feeds -= {(b, b) for b in boxes}
    assert {(tail, head) for tail, head in named if tail in boxes and head in boxes} == feeds
    assert len(edges) == len(set(edges))


def group(name):
    found = re.match(r'(.+?)\[\d+,\d+\]', name)
    return found.group(1) if found else name


def _block_edges(computation):
    """(producer's output name, consumer's output name) of every block operation feeding
    another."""
    producer = {var: op for op in computation if isinstance(op, BlockOp) for var in op.outputs}
    for op in computation:
        if isinstance(op, BlockOp):
            for var in op.inputs:
                if var in producer:
                    yield str(producer[var].names[0]), str(op.names[0])


def test_summary_of_kalman_is_small(kalman):
    """Rendered with the real dot: 1035 x 711 pt for its eight operations (the full
    picture: about 6200 x 5900 pt)."""
    document = pictures.svg(kalman.program, **kalman._picture_options())   # names
    width, height = map(int, re.search(r'<svg width="(\d+)pt" height="(\d+)pt"',
                                       document).groups())
    assert width < 1200 and height < 1000
    assert kalman._repr_mimebundle_()['image/svg+xml'] == document


def test_clusters_put_every_block_operation_in_the_cluster_of_its_whole_operation(kalman):
    program = kalman.program
    labels, edges, cluster = parse(kalman.dot(blocks='clusters').source)
    ops = [op for op in program.toposort() if not set(op.outputs) <= set(op.inputs)]
    assert len(ops) == sum(node.startswith('op') for node in labels)
    for i, op in enumerate(ops):
        node, inner = f'op{i}', op.comp
        if isinstance(inner, BlockOp):
            routine, names = box(cluster[node])
            assert routine == type(inner.origin).__name__, (node, inner)
            assert group(str(inner.names[0])) in names, (node, inner)
        elif isinstance(inner, Split):
            assert cluster[node] == str(inner.X)
        else:                                  # the two results, assembled outside
            assert isinstance(inner, Assemble) and cluster[node] is None
    # Each block next to the operation that makes it.
    for tail, head in edges:
        if tail.startswith('op') and cluster[tail] is not None:
            assert cluster[head] == cluster[tail]
    assert len(set(cluster.values()) - {None}) == 5 + 8          # 5 inputs, 8 operations


def test_all_draws_every_block_operation(kalman):
    labels, _, cluster = parse(kalman.dot(blocks='all').source)
    ops = [op for op in kalman.program if not set(op.outputs) <= set(op.inputs)]
    assert sum(node.startswith('op') for node in labels) == len(ops)
    assert set(cluster.values()) == {None}


def test_unblocked_programs_are_drawn_as_before():
    c = minmax()
    assert c.dot().source == c.dot(blocks='all').source
    assert 'subgraph' not in c.dot().source


def test_blocks_option_is_checked():
    with pytest.raises(ValueError, match=r"blocks must be one of 'summary', 'clusters', "
                                         r"'all', got 'some'"):
        blocked_gemm().dot(blocks='some')
    with pytest.raises(ValueError, match="layers=True cannot be combined with blocks='clusters'"):
        blocked_gemm().dot(blocks='clusters', layers=True)
    assert 'rank=same' in blocked_gemm().dot(layers=True).source


def test_block_groups_of_plain_computations():
    """x -> [cut] -> x[0,0], x[1,0] -> [f], [g] -> y[0,0].1 -> [h] -> y[0,0]; y[1,0]"""
    cut = Computation(['x'], ['x[0,0]', 'x[1,0]'])
    f, g = Computation(['x[0,0]'], ['y[0,0].1']), Computation(['x[1,0]'], ['y[1,0]'])
    h = Computation(['y[0,0].1'], ['y[0,0]'])
    groups = pictures.block_groups(cut + f + g + h)
    assert groups == {('operation', cut): ('value', 'x'), ('operation', f): ('group', 'y'),
                      ('operation', g): ('group', 'y'), ('operation', h): ('group', 'y')}


def test_pictures_of_blocked_programs_without_dot(monkeypatch, kalman):
    """Without the dot binary: the source still builds, and Jupyter gets the text form."""
    monkeypatch.setenv('PATH', '/nonexistent')
    assert 'GEMM x 48' in kalman.dot().source
    with pytest.raises(graphviz.ExecutableNotFound):
        pictures.svg(kalman.program)
    assert set(kalman._repr_mimebundle_()) == {'text/plain'}
    assert set(blocked_gemm()._repr_mimebundle_()) == {'text/plain'}


def test_blocking_records_the_operation_each_block_operation_is_a_step_of():
    """``origin``: set by ``block`` on every block operation; not a prop (equality, hash and
    pickling ignore it)."""
    ops = [op for op in blocked_gemm() if isinstance(op, BlockOp)]
    assert ops and all(type(op.origin) is GEMM for op in ops)
    op = ops[0]
    twin = BlockOp(op.op, op.names, op.reads)
    assert twin.origin is None and twin == op and hash(twin) == hash(op)
