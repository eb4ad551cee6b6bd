"""What a compilation spends besides its search: one instance per value in the compiler's
tables (computations.matrices.compiler.properties.Properties.one_instance) and the cyclic
garbage collector paused while it runs (computations.front_door.garbage)."""
import gc
import pickle
import threading

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from sympy import MatrixSymbol, Q, Symbol

import computations
from computations.front_door import garbage
from computations.matrices.compiler.properties import Properties
from computations.matrices.compiler.search import Planner
from computations.testing import matrix_problems

n, k = Symbol('n'), Symbol('k')


# One instance per value ------------------------------------------------------------

def test_equal_expressions_in_other_instances_map_to_the_first():
    A = MatrixSymbol('A', n, n)
    properties = Properties()
    first = properties.one_instance(A.T * A)
    other = sympy.MatMul(sympy.Transpose(MatrixSymbol('A', n, n)), MatrixSymbol('A', n, n))
    assert other == first and other is not first
    assert properties.one_instance(other) is first
    assert properties.one_instance(first) is first
    assert properties.one_instance(A * A.T) is not first          # another value


def test_a_value_that_compares_equal_across_types_keeps_its_type():
    """SymPy's ``==`` between an Integer and a Float of one value is False, and a
    dimension 2 is not 2.0: the table never conflates them."""
    properties = Properties()
    assert properties.one_instance(sympy.Integer(2)) is sympy.Integer(2)
    assert isinstance(properties.one_instance(sympy.Float(2)), sympy.Float)


def test_the_planner_plans_a_value_once_whatever_instance_asks():
    """Two instances of ``H*Sigma`` (SymPy rebuilds the symbols when it canonicalizes) get
    the same plan object, and the memo holds one key."""
    def parts():
        H, Sigma = MatrixSymbol('H', k, n), MatrixSymbol('Sigma', n, n)
        return H, Sigma
    H, Sigma = parts()
    planner = Planner(Properties([Q.positive_definite(Sigma)], {n: 6, k: 3}), [H, Sigma])
    first = planner.plan(sympy.MatMul(H, Sigma))
    H2, Sigma2 = parts()
    again = planner.plan(sympy.MatMul(H2, Sigma2))
    assert again is first
    assert sum(1 for key in planner._memo if key == H * Sigma) == 1


def test_properties_answer_for_an_instance_as_for_the_first():
    S = MatrixSymbol('S', n, n)
    properties = Properties([Q.positive_definite(S)], {n: 4})
    assert properties.ask('positive_definite', S.T * S) is True
    rebuilt = sympy.MatMul(sympy.Transpose(MatrixSymbol('S', n, n)), MatrixSymbol('S', n, n))
    assert properties.ask('positive_definite', rebuilt) is True
    assert properties.transpose(rebuilt) is properties.transpose(S.T * S)


@settings(deadline=None, max_examples=30)
@given(matrix_problems())
def test_programs_do_not_depend_on_which_instances_the_compiler_meets(problem):
    """The same problem in all new instances (a pickle round trip) compiles to the same
    program, and both compute what NumPy does."""
    inputs, outputs, assumptions = problem.inputs, problem.outputs, problem.assumptions
    copies = pickle.loads(pickle.dumps((inputs, outputs, assumptions)))
    assert copies == (inputs, outputs, assumptions)
    values = problem.data()
    f, g = computations.function(inputs, outputs, assumptions), computations.function(*copies)
    assert f.specialize(*values).computation == g.specialize(*values).computation
    for results in (f(*values), g(*values)):
        results = results if isinstance(results, tuple) else (results,)
        assert max(problem.errors(results, values)) < 1e-6


# The collector paused --------------------------------------------------------------

def test_the_collector_is_paused_inside_and_enabled_after():
    assert gc.isenabled()
    with garbage.paused():
        assert not gc.isenabled()
        with garbage.paused():                      # nested
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_the_caller_disabled_stays_disabled():
    gc.disable()
    try:
        with garbage.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_an_error_inside_still_enables_the_collector():
    with pytest.raises(ZeroDivisionError):
        with garbage.paused():
            1 / 0
    assert gc.isenabled()


def test_overlapping_pauses_in_threads_enable_it_when_the_last_ends():
    """Thread A pauses, B pauses, A ends (still paused: B runs), B ends (enabled)."""
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def a():
        with garbage.paused():
            a_in.set()
            b_in.wait(10)
        seen['after a'] = gc.isenabled()
        a_out.set()

    def b():
        a_in.wait(10)
        with garbage.paused():
            b_in.set()
            a_out.wait(10)
            seen['inside b after a'] = gc.isenabled()

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == {'after a': False, 'inside b after a': False}
    assert gc.isenabled()


def test_a_specialization_is_made_with_the_collector_paused(monkeypatch):
    """No collection runs while a specialization is compiled and lowered (those the
    allocations would trigger wait for the next one after it)."""
    A = MatrixSymbol('A', n, n)
    f = computations.function([A], [A.T * A + A])
    seen = []
    original = computations.front_door.compiled.Specialization.__init__

    def recording(self, *args, **kwargs):
        seen.append(gc.isenabled())
        original(self, *args, **kwargs)
        seen.append(gc.isenabled())

    monkeypatch.setattr(computations.front_door.compiled.Specialization, '__init__', recording)
    a = np.arange(9.0).reshape(3, 3)
    assert np.allclose(f(a), a.T @ a + a)
    assert seen == [False, False] and gc.isenabled()
