"""Unit tests for computations.core: Computation, Identity, CompositeComputation."""
import copy
import pickle

import pytest
import sympy

from computations import (Computation, CompositeComputation, ConflictingProducersError,
                          CycleError, Identity, graph)
from computations.examples import A, MinMax, minmax


# Computation --------------------------------------------------------------

def test_computation_stores_tuples():
    """x, y -> [c] -> z"""
    c = Computation(['x', 'y'], iter(['z']))
    assert c.inputs == ('x', 'y') and c.outputs == ('z',)
    assert c.props == (('x', 'y'), ('z',))
    assert c.produced == ('z',)


def test_computation_equal_by_value_and_hash():
    assert Computation(['x'], ['y']) == Computation(('x',), ('y',))
    assert hash(Computation(['x'], ['y'])) == hash(Computation(('x',), ('y',)))
    assert Computation(['x'], ['y']) != Computation(['x'], ['z'])
    assert Computation(['x', 'y'], ['z']) != Computation(['y', 'x'], ['z'])
    assert len({Computation(['x'], ['y']), Computation(['x'], ['y'])}) == 1


def test_subclass_is_not_equal_to_base_with_same_props():
    assert A(['w'], ['x']) != Computation(['w'], ['x'])
    assert A(['w'], ['x']) == A(['w'], ['x'])


@pytest.mark.parametrize('node', [
    Computation(['x'], ['y']),
    Identity('x'),
    MinMax(sympy.Symbol('x'), sympy.Symbol('y')),
    CompositeComputation(Computation(['x'], ['y'])),
], ids=['Computation', 'Identity', 'MinMax', 'CompositeComputation'])
def test_nodes_are_immutable(node):
    for name in ('inputs', 'outputs', 'props', '_props', '_hash', 'anything'):
        with pytest.raises(AttributeError, match='immutable'):
            setattr(node, name, ())
        with pytest.raises(AttributeError, match='immutable'):
            delattr(node, name)
    assert copy.copy(node) is node and copy.deepcopy(node) is node


@pytest.mark.parametrize('node', [
    Computation(['x'], ['y']),
    Identity('x', 'y'),
    A(['w'], ['x']),
    MinMax(sympy.Symbol('x'), 3),
    minmax(),
    CompositeComputation(),
], ids=['Computation', 'Identity', 'A', 'MinMax', 'minmax', 'empty'])
def test_pickle_round_trips(node):
    again = pickle.loads(pickle.dumps(node))
    assert again == node and hash(again) == hash(node) and type(again) is type(node)
    assert again.inputs == node.inputs and again.outputs == node.outputs


def test_repr_evaluates_back():
    c = Computation(['x'], ['y', 'z'])
    assert repr(c) == "Computation(('x',), ('y', 'z'))"
    assert eval(repr(c)) == c
    assert repr(Identity('x', 'y')) == "Identity(('x', 'y'))"


def test_str_is_one_assignment():
    assert str(Computation(['x', 'y'], ['z'])) == 'z = Computation(x, y)'


def test_inputs_must_be_an_iterable_of_hashables():
    with pytest.raises(TypeError, match=r"inputs must be .* the string 'x'"):
        Computation('x', ['y'])
    with pytest.raises(TypeError, match=r'outputs must be an iterable .* got int'):
        Computation(['x'], 3)
    with pytest.raises(TypeError, match=r'inputs\[1\] is not hashable \(list\)'):
        Computation(['x', ['y']], ['z'])


def test_outputs_are_distinct_and_not_inputs():
    with pytest.raises(ValueError, match='output y is listed twice'):
        Computation(['x'], ['y', 'y'])
    with pytest.raises(ValueError, match='variable x is both an input and an output'):
        Computation(['x'], ['x'])


def test_subclasses_outputs_are_distinct_and_not_inputs_too():
    """Only Computation.__init__ checked: MinMax(x, x + 1) listed its input x as an output
    (Min(x, x + 1) is x), and composing it with the producer of x blamed that one as a
    second producer (review)."""
    x, y, w = sympy.symbols('x y w')
    with pytest.raises(ValueError, match='MinMax: output x is listed twice'):
        MinMax(x, x)
    with pytest.raises(ValueError, match='MinMax: variable x is both an input and an output'):
        MinMax(x, x + 1)
    assert MinMax(x, y).outputs == (sympy.Min(x, y), sympy.Max(x, y))

    class Unchecked(Computation):                  # its own __init__, no check
        __slots__ = ()
        __props__ = ('inputs', 'outputs')

        def __init__(self, inputs, outputs):
            self._freeze(tuple(inputs), tuple(outputs))
    with pytest.raises(CycleError, match='a -> Unchecked'):       # reads what it makes
        Unchecked(['a'], ['a']) + A(['w'], ['z'])
    with pytest.raises(ValueError, match='Unchecked: output b is listed twice'):
        (Unchecked(['a'], ['b', 'b']) + A(['w'], ['z'])).toposort()


def test_duplicate_inputs_are_allowed():
    """x -> [c] -> y, with x read twice (as in GEMM(A, A))"""
    c = Computation(['x', 'x'], ['y'])
    assert c.inputs == ('x', 'x')
    assert list(CompositeComputation(c).edges()) == [('x', c), (c, 'y')]


def test_subclass_must_define_inputs_and_outputs():
    with pytest.raises(TypeError, match="Bad must define 'inputs'"):
        class Bad(Computation):
            __props__ = ('a',)

            @property
            def outputs(self):
                return ()


def test_subclass_props_become_attributes():
    x, y = sympy.symbols('x y')
    m = MinMax(x, y)
    assert (m.x, m.y) == (x, y)
    assert m.props == (x, y)
    assert m.inputs == (x, y) and m.outputs == (sympy.Min(x, y), sympy.Max(x, y))


def test_freeze_checks_the_number_of_props():
    class Two(Computation):
        __slots__ = ()
        __props__ = ('a', 'b')
        inputs = outputs = ()

        def __init__(self, a):
            self._freeze(a)

    with pytest.raises(TypeError, match=r"Two has props \('a', 'b'\), got 1 values"):
        Two(1)


def test_single_computation_toposort():
    c = Computation(['x'], ['y'])
    assert c.toposort() == (c,)


# Identity -----------------------------------------------------------------

def test_identity_reads_and_marks_but_produces_nothing():
    """x -> [f] -> y -> [g] -> z ; Identity marks y as wanted too"""
    f, g = Computation(['x'], ['y']), Computation(['y'], ['z'])
    i = Identity('y')
    assert i.inputs == i.outputs == ('y',) and i.produced == ()
    c = f + g + i
    assert c.inputs == ('x',)
    assert set(c.outputs) == {'y', 'z'}
    assert c.producer('y') == f
    assert c.toposort().index(f) < c.toposort().index(i)


def test_identity_of_an_input_passes_it_through():
    c = Computation(['x'], ['y']) + Identity('x')
    assert c.inputs == ('x',) and set(c.outputs) == {'x', 'y'}


# CompositeComputation -----------------------------------------------------

def test_add_composes_and_flattens():
    """w -> [a] -> x -> [b] -> y -> [c] -> z"""
    a, b, c = (Computation([s], [t]) for s, t in ['wx', 'xy', 'yz'])
    abc = (a + b) + c
    assert abc.computations == frozenset({a, b, c})
    assert abc == a + (b + c) == c + b + a == CompositeComputation(a, b, c)
    assert CompositeComputation(a + b, b + c) == abc
    assert abc.inputs == ('w',) and abc.outputs == ('z',)
    assert len(abc) == 3 and b in abc and list(abc) == [a, b, c]


def test_add_rejects_non_computations():
    with pytest.raises(TypeError):
        Computation(['x'], ['y']) + 1
    with pytest.raises(TypeError, match=r'argument 1 of CompositeComputation is a str'):
        CompositeComputation(Computation(['x'], ['y']), 'z')


def test_empty_composite():
    c = CompositeComputation()
    assert c.inputs == c.outputs == c.toposort() == () and len(c) == 0


def test_graph_queries():
    """
    w -> [a] -> x -> [b] -> y
                 \\           \\
                  -> [c] -> z -> [d] -> out
    """
    a = Computation(['w'], ['x'])
    b = Computation(['x'], ['y'])
    c = Computation(['x'], ['z'])
    d = Computation(['z', 'y'], ['out'])
    abcd = d + c + b + a
    assert abcd.toposort() == (a, b, c, d)
    assert abcd.producer('x') == a and abcd.producer('w') is None
    assert abcd.consumers('x') == (b, c) and abcd.consumers('out') == ()
    assert abcd.dependencies(d) == (c, b)          # in the order of d's inputs
    assert abcd.dependencies(a) == ()
    assert abcd.dependents(a) == (b, c)
    assert abcd.variables == ('w', 'x', 'y', 'z', 'out')
    assert list(abcd.edges()) == [('w', a), (a, 'x'), ('x', b), (b, 'y'), ('x', c),
                                  (c, 'z'), ('z', d), ('y', d), (d, 'out')]


def test_graph_queries_name_unknown_nodes():
    c = Computation(['x'], ['y']) + Computation(['y'], ['z'])
    with pytest.raises(KeyError, match='q is not a variable'):
        c.consumers('q')
    with pytest.raises(KeyError, match='q is not a variable'):
        c.producer('q')
    with pytest.raises(KeyError, match='is not a member'):
        c.dependencies(Computation(['a'], ['b']))
    with pytest.raises(KeyError, match='is not a member'):
        c.dependents(Computation(['a'], ['b']))


def test_two_producers_of_one_variable_are_rejected():
    """x -> [f] -> y <- [g] <- x'"""
    f, g = Computation(['x'], ['y']), Computation(["x'"], ['y'])
    with pytest.raises(ConflictingProducersError, match='variable y is produced by two') as info:
        f + g
    assert info.value.variable == 'y' and set(info.value.producers) == {f, g}


def test_cycle_is_rejected_and_named():
    """
    x -> [f] -> y -> [g] -> x     (and w -> [h] -> v, not on the cycle)
    """
    f, g = Computation(['x'], ['y']), Computation(['y'], ['x'])
    h = Computation(['w'], ['v'])
    with pytest.raises(CycleError) as info:
        CompositeComputation(f, g, h)
    assert info.value.cycle == ('x', f, 'y', g)
    assert str(info.value) == ("the computations form a cycle: x -> Computation(('x',), ('y',))"
                               " -> y -> Computation(('y',), ('x',)) -> x")


def test_cycle_downstream_nodes_are_not_named():
    """x -> [f] -> y -> [g] -> x ;  y -> [k] -> z  (k is stuck but not on the cycle)"""
    f, g, k = Computation(['x'], ['y']), Computation(['y'], ['x']), Computation(['y'], ['z'])
    with pytest.raises(CycleError) as info:
        f + g + k
    assert k not in info.value.cycle


def test_index_is_built_once(monkeypatch):
    calls = []
    real = graph.index
    monkeypatch.setattr(graph, 'index', lambda comps: calls.append(1) or real(comps))
    c = Computation(['x'], ['y']) + Computation(['y'], ['z'])
    for _ in range(3):
        c.toposort(), c.inputs, c.outputs, c.consumers('y'), c.producer('y'), c.variables
    assert len(calls) == 1


def test_minmax_example():
    """w -> [A] -> x -> [MinMax] -> Min(x, y), Max(x, y);  y -> [MinMax]"""
    w, x, y = sympy.symbols('w x y')
    c = minmax()
    assert c.inputs == (w, y)
    assert c.outputs == (sympy.Min(x, y), sympy.Max(x, y))
    assert c.toposort() == (A([w], [x]), MinMax(x, y))
    assert str(c) == 'x = A(w)\nMin(x, y), Max(x, y) = MinMax(x, y)'
