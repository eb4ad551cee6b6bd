"""The memory model, the memory-aware order and buffer reuse.

On random DAGs (tests/inplace_ops.py) with random sizes per value: the
memory-aware order is a valid topological order that passes
``computations.inplace.check`` and never has a higher peak than the default order; on
small programs its peak is the least over every valid order (brute force);
buffer reuse yields programs that ``check`` accepts, compute the pure values
under the poisoning interpreter, and never raise the peak.  Then the model
against reality: ``Function.peak_bytes`` against tracemalloc's peak of a
call, and ``Function.profile``.
"""
import numpy as np
import pytest
import sympy
from hypothesis import given, settings, strategies as st

import computations
from computations.matrices.examples.problems import PROBLEMS, random_inputs
from computations.inplace import check, inplace_compile
from computations.testing import pure_values as evaluate_pure, sized_programs
from inplace_ops import is_linear_extension, linear_extensions
from computations.schedulers import interpret
from computations.schedulers.memory import TRANSIENT_BYTES, timeline, traced_peak
from computations.schedulers.order import memory_order
from computations.schedulers.reuse import reuse_buffers


@given(sized_programs(max_ops=12))
@settings(max_examples=80, deadline=None)
def test_memory_order_is_valid_and_never_worse(case):
    comp, program, sizes, donate = case
    order = memory_order(program, sizes)
    assert is_linear_extension(program, order)
    check(program, order, donate=comp.inputs if donate else ())
    default = program.toposort()
    assert timeline(program, order, sizes).peak <= timeline(program, default, sizes).peak
    greedy = memory_order(program, sizes, budget=1)       # the fallback past the budget
    assert is_linear_extension(program, greedy)
    check(program, greedy, donate=comp.inputs if donate else ())


@given(sized_programs(max_ops=4))
@settings(max_examples=60, deadline=None)
def test_memory_order_is_optimal_on_small_programs(case):
    comp, program, sizes, donate = case
    if len(program) > 7:
        return                           # 7! orders is the most brute force may try here
    best = min(timeline(program, order, sizes).peak for order in linear_extensions(program))
    assert timeline(program, memory_order(program, sizes), sizes).peak == best


@given(sized_programs(max_ops=12), st.integers(0, 2**32 - 1))
@settings(max_examples=80, deadline=None)
def test_buffer_reuse_is_checked_safe_and_computes_the_same(case, seed):
    comp, program, sizes, donate = case
    donated = comp.inputs if donate else ()
    order = memory_order(program, sizes)
    reused = reuse_buffers(program, order, sizes, min_bytes=0, donate=donated)
    new_order = reused.toposort()
    check(reused, new_order, donate=donated)
    assert timeline(reused, new_order, sizes).peak <= timeline(program, order, sizes).peak
    assert len({v.token for v in reused.variables}) <= len({v.token for v in program.variables})
    rng = np.random.default_rng(seed)
    inputs = {var: rng.uniform(-1, 1, 3) for var in comp.inputs}
    expected = evaluate_pure(comp, inputs)
    buffers = {v.token: np.array(inputs[v.expr], copy=True) for v in reused.inputs}
    got = interpret(reused, buffers, order=new_order, poison=True,
                    keep=[] if donate else list(buffers))
    for value, result in got.items():
        np.testing.assert_array_equal(result, expected[value.expr])


def test_reuse_happens_where_it_should():
    """A product written into the buffer of a dead one of its shape; small ones are not reused."""
    A = sympy.MatrixSymbol('A', 64, 64)
    f = computations.function([A], [A ** 5])          # A2 = A*A, A4 = A2*A2, A5 = A*A4
    assert 'pow_A = dgemm(1.0, A, pow_A_2, 0.0, pow_A, 0, 0, 1)  # overwrite_c=1' in f.source
    a = np.random.default_rng(0).standard_normal((64, 64)) / 8
    np.testing.assert_allclose(f(a)[0], np.linalg.matrix_power(a, 5), rtol=1e-10)
    small = sympy.MatrixSymbol('B', 8, 8)
    assert 'overwrite_c' not in computations.function([small], [small ** 5]).source


@pytest.mark.parametrize('name', sorted(PROBLEMS))
def test_peak_bytes_predicts_the_traced_peak(name):
    problem = PROBLEMS[name]()
    f = computations.function(problem.inputs, problem.outputs, problem.assumptions)
    sizes = {k: v // 8 for k, v in problem.sizes.items()}
    values = random_inputs(problem, sizes, seed=0)
    f(*values)                                       # compile outside the trace
    peak, _ = traced_peak(lambda: f(*values))
    predicted = f.peak_bytes(*values)
    assert predicted == f.peak_bytes(*[v.shape if isinstance(v, np.ndarray) else v
                                       for v in values])
    assert abs(predicted - peak) <= 0.1 * peak + TRANSIENT_BYTES, (predicted, peak)
    # C-ordered inputs are read transposed, not copied to Fortran order (module
    # front_door.layouts): the prediction is the program's, without the copies.
    c_ordered = [np.ascontiguousarray(v) if isinstance(v, np.ndarray) and v.shape[1] > 1
                 else v for v in values]
    copies = sum(v.nbytes for v, w in zip(c_ordered, values)
                 if isinstance(v, np.ndarray) and v is not w)
    f(*c_ordered)                                    # its variant compiled outside the trace
    predicted_c = f.peak_bytes(*c_ordered)
    peak, _ = traced_peak(lambda: f(*c_ordered))
    assert abs(predicted_c - peak) <= 0.1 * peak + TRANSIENT_BYTES, (predicted_c, peak)
    assert predicted_c < predicted + copies or not copies, (predicted_c, predicted, copies)


def test_profile_times_every_routine_call():
    problem = PROBLEMS['kalman']()
    f = computations.function(problem.inputs, problem.outputs, problem.assumptions)
    values = random_inputs(problem, {'n': 300, 'k': 100}, seed=0)
    profile = f.profile(*values)
    specialization = f.specialize(*values)
    routines = [row.routine for row in profile.rows]
    assert routines == ['gemv', 'symm', 'gemm', 'potrf', 'trsm', 'trsm', 'gemv', 'syrk'], \
        routines
    assert profile.flops == pytest.approx(float(specialization.flops))
    assert all(row.seconds > 0 for row in profile.rows) and profile.dgemm > 0
    text = str(profile).splitlines()
    assert len(text) == len(profile.rows) + 2 and 'of DGEMM' in text[-1]
    assert text[2].split()[1:3] == ['SYMM', 'symm']


@pytest.mark.parametrize('name', sorted(PROBLEMS))
def test_compiled_programs_run_in_a_checked_memory_aware_order(name):
    problem = PROBLEMS[name]()
    f = computations.function(problem.inputs, problem.outputs, problem.assumptions)
    s = f.specialize(*random_inputs(problem, {k: v // 10 for k, v in problem.sizes.items()}))
    assert s.order == s.program.toposort() and is_linear_extension(s.program, s.order)
    check(s.program, s.order)
    default = inplace_compile(s.computation)
    assert timeline(s.program, s.order, s.sizes).peak <= \
        timeline(default, default.toposort(), s.sizes).peak


def test_a_containers_reclaimable_file_cache_counts_as_room(monkeypatch):
    """``memory.current`` counts the file cache the kernel reclaims on demand: a container
    that had read 7 GiB of files had 0.1 of its 8 GiB "available", and a 0.2 GB call was
    refused.  The working set (current less ``inactive_file``) is what is used."""
    from computations.schedulers import memory
    gib = 2 ** 30
    files = {'/sys/fs/cgroup/memory.max': f'{8 * gib}\n',
             '/sys/fs/cgroup/memory.current': f'{int(7.9 * gib)}\n',
             '/sys/fs/cgroup/memory.stat': f'anon {int(0.6 * gib)}\nfile {int(7.3 * gib)}\n'
                                           f'inactive_file {7 * gib}\nactive_file 1\n'}
    monkeypatch.setattr(memory, '_read', files.get)
    assert memory._cgroup_room() == 8 * gib - (int(7.9 * gib) - 7 * gib)
    files['/sys/fs/cgroup/memory.stat'] = 'anon 1\n'            # no file cache to reclaim
    assert memory._cgroup_room() == 8 * gib - int(7.9 * gib)
    files['/sys/fs/cgroup/memory.max'] = 'max\n'
    assert memory._cgroup_room() is None
