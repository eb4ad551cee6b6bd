"""Batches of small problems: the Kalman update of many targets at once.

Every target has its own belief ``(mu, Sigma)`` and observation ``data``;
the observation model ``H`` and noise ``R`` are shared (broadcast).  The
contestants, on the same stacked inputs:

``compiled``
    the compiled function called once on the stacks
    (:mod:`computations.front_door.batches`);
``numpy stacked``
    the update written with NumPy's stacked operations (``@`` and
    ``np.linalg.solve`` on stacks, ``H*Sigma`` once, one solve for both
    right-hand sides): what a NumPy user writes for a batch;
``scipy loop``
    a Python loop over the hand-written SciPy BLAS/LAPACK program
    (``_harness.kalman_scipy``), one target at a time;
``jax vmap``
    ``jax.jit(jax.vmap(...))`` of the NumPy program, when JAX is installed.

Each case runs with BLAS on one thread (threadpoolctl: the matrices are tiny,
BLAS's own threads only add overhead), and again with BLAS on every core
(``--threads 1,0``, the default: 0 is no limit), where the compiled batch runs
its chunks on as many threads as BLAS may use where that pays (matrices of order
32 or more: :func:`~computations.front_door.batches.batch_threads`) and each
peer does what it does with every core
(NumPy's stacked products are one BLAS call per problem, each on BLAS's
threads; JAX uses its own).  Contestants alternate (``_harness.round_robin``), each sample
five calls in a row (a filter runs its steps back to back), medians of
``--repeat`` samples.  The issue's targets: compiled >= 2x faster than
stacked NumPy and >= 10x faster than the SciPy loop.  The growth run times
the compiled batch and stacked NumPy at n = 6, k = 3 over batch sizes.

Every contestant's minor page faults per call are counted too: on this virtual
machine a fault costs 2-3 us, and a call that touches fresh pages (new memory
from the system) can spend half its time on them.  How many pages are fresh
depends on the C allocator's state, which the process's history sets (glibc
returns freed memory at the top of its heap to the system once more than its
trim threshold is free, and raises that threshold after the first large block
is freed), so ``--allocator both`` (the default) runs the cases twice: in this
process, and in a child whose allocator keeps what is freed
(:data:`RETAINING`: the trim and mmap thresholds of glibc set high), where
fresh pages are the results' only.

Run: ``./dev bench batches [--repeat 5] [--quick] [--allocator both]``.
"""
import argparse
import datetime
import os
import statistics
import subprocess
import sys

import numpy as np
from threadpoolctl import threadpool_limits

import peers
from _harness import faults_per_call, kalman_scipy, loglog_slope, round_robin

import computations
from computations.schedulers.blas_threads import blas_threads
from computations.matrices.examples.kalman import kalman

CASES = ((10_000, 6, 3), (1_000, 50, 20))
WARM_CALLS = 10
GROWTH = (100, 1_000, 10_000)
CALLS_PER_SAMPLE = 5

#: The environment of a glibc allocator that keeps freed memory for the next allocation
#: instead of returning it to the system (read at the process's start).
RETAINING = {'MALLOC_TRIM_THRESHOLD_': str(2 ** 30), 'MALLOC_MMAP_THRESHOLD_': str(2 ** 25)}


def stacks(count, n, k, seed=0):
    """``mu, Sigma, H, R, data``: per-target stacks of mu, Sigma, data; one H and R."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((count, n, n))
    Y = rng.standard_normal((k, k))
    return (rng.standard_normal((count, n, 1)), X @ np.swapaxes(X, 1, 2) / n + np.eye(n),
            rng.standard_normal((k, n)) / np.sqrt(n), Y @ Y.T / k + np.eye(k),
            rng.standard_normal((count, k, 1)))


def numpy_stacked(mu, Sigma, H, R, data):
    """The update on stacks with NumPy, one solve for ``[r | X]``; the products with the
    shared H are each one matrix product over the whole stack (a reshape, or
    ``tensordot``), not one per target as ``H @ Sigma`` on a stack is (a review found the
    per-target products made this peer 10% slower at n = 50)."""
    count, n = mu.shape[:2]
    Xt = (Sigma.reshape(count * n, n) @ H.T).reshape(count, n, -1)   # Sigma*H.T (symmetric)
    S = np.tensordot(H, Xt, axes=([1], [1])).transpose(1, 0, 2) + R  # H*Sigma*H.T + R
    r = (mu[..., 0] @ H.T - data[..., 0])[..., None]
    solved = np.linalg.solve(S, np.concatenate([r, np.swapaxes(Xt, -1, -2)], axis=-1))
    return mu + Xt @ solved[..., :1], Sigma - Xt @ solved[..., 1:]


def scipy_loop(mu, Sigma, H, R, data):
    """The hand-written SciPy program, one target at a time."""
    Hf, Rf = np.asfortranarray(H), np.asfortranarray(R)
    out = [kalman_scipy(mu[i], Sigma[i].T, Hf, Rf, data[i])     # symmetric: .T is Fortran
           for i in range(len(mu))]
    return np.stack([o[0] for o in out]), np.stack([o[1] for o in out])


def jax_vmap():
    """``jax.jit(jax.vmap(update))`` over the per-target inputs, or None without JAX."""
    if not peers.available('jax'):
        return None
    import jax
    import jax.numpy as jnp
    jax.config.update('jax_enable_x64', True)

    def update(mu, Sigma, H, R, data):
        X = H @ Sigma
        solved = jnp.linalg.solve(X @ H.T + R, jnp.concatenate([H @ mu - data, X], axis=1))
        return mu + X.T @ solved[:, :1], Sigma - X.T @ solved[:, 1:]
    mapped = jax.jit(jax.vmap(update, in_axes=(0, 0, None, None, 0)))   # one compiled batch
    return lambda *args: jax.block_until_ready(mapped(*args))


def check(results, reference):
    for got, want in zip(results, reference):
        error = np.linalg.norm(np.asarray(got) - want) / np.linalg.norm(want)
        assert error < 1e-9, error


def warm(contestants, calls=WARM_CALLS):
    """Call each contestant ``calls`` times, untimed: the first calls of a process on
    arrays of a new size run up to 2x slower (fresh memory from the system, page faults),
    and a filter over many steps runs in the steady state."""
    for call in contestants.values():
        for _ in range(calls):
            call()


def back_to_back(contestants, repeat, calls=CALLS_PER_SAMPLE):
    """name -> seconds per call, the median of ``repeat`` alternating samples of ``calls``
    calls in a row each (``round_robin`` with no pause: BLAS runs on one thread here, so
    no other library's threads spin between calls).  A sample of one call after a pause
    starts with cold caches and a CPU the virtual machine may have let idle: the compiled
    batch at n = 6 took 9.4-11.4 ms a call so and 6.3-10.4 in a loop of calls, the same
    hour."""
    def repeated(call):
        def run():
            for _ in range(calls):
                result = call()
            return result
        return run
    times = round_robin({name: repeated(call) for name, call in contestants.items()}, repeat,
                        pause=0)
    return {name: statistics.median(t) / calls for name, t in times.items()}


def run_case(f, count, n, k, repeat, jax_update):
    inputs = stacks(count, n, k)
    contestants = {'compiled': lambda: f(*inputs),
                   'numpy stacked': lambda: numpy_stacked(*inputs),
                   'scipy loop': lambda: scipy_loop(*inputs)}
    if jax_update is not None:
        contestants['jax vmap'] = lambda: jax_update(*inputs)
    reference = numpy_stacked(*inputs)
    for call in contestants.values():               # correct, and warm (compiled, jitted)
        check(call(), reference)
    warm(contestants)
    times = back_to_back(contestants, repeat)
    return {name: (seconds, faults_per_call(contestants[name], calls=5))
            for name, seconds in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--quick', action='store_true', help='a tenth of the batch sizes')
    parser.add_argument('--allocator', choices=('default', 'retaining', 'both'), default='both',
                        help='the C allocator the cases run with (see the docstring)')
    parser.add_argument('--threads', default='1,0',
                        help='BLAS thread limits to run the cases under (0: none)')
    args = parser.parse_args(argv)
    retaining = all(os.environ.get(k) == v for k, v in RETAINING.items())
    if args.allocator == 'retaining' and not retaining:     # the setting is read at start
        command = [sys.executable, __file__, '--repeat', str(args.repeat),
                   '--allocator', 'retaining', '--threads', args.threads] + ['--quick'] * args.quick
        subprocess.run(command, env={**os.environ, **RETAINING}, check=True)
        return
    scale = 10 if args.quick else 1
    inputs, outputs, assumptions = kalman()
    f = computations.function(inputs, outputs, assumptions)
    jax_update = jax_vmap()
    print(f'{datetime.datetime.now():%Y-%m-%d %H:%M}, '
          f'medians of {args.repeat} alternating samples, '
          f'{"a retaining" if retaining else "the default"} allocator, '
          f'{os.cpu_count()} cores\n')
    print('| BLAS threads | targets | n | k | contestant | seconds | per target (µs) | '
          'vs compiled | faults per call |')
    print('|---:|---:|---:|---:|---|---:|---:|---:|---:|')
    for threads in (int(t) for t in args.threads.split(',')):
        with threadpool_limits(threads or None):
            used = blas_threads()
            for count, n, k in CASES:
                count //= scale
                found = run_case(f, count, n, k, args.repeat, jax_update)
                for name, (seconds, faults) in found.items():
                    print(f'| {used} | {count} | {n} | {k} | {name} | {seconds:.4f} | '
                          f'{seconds / count * 1e6:.1f} | '
                          f'{seconds / found["compiled"][0]:.2f}x | {faults:.0f} |', flush=True)
    if retaining:
        return
    with threadpool_limits(1):
        print('\ngrowth at n = 6, k = 3 (per target, µs):\n')
        print('| targets | compiled | numpy stacked |')
        print('|---:|---:|---:|')
        points = {'compiled': [], 'numpy stacked': []}
        for count in GROWTH:
            count //= scale
            inputs = stacks(count, 6, 3)
            pair = {'compiled': lambda: f(*inputs), 'numpy stacked': lambda: numpy_stacked(*inputs)}
            warm(pair)
            found = back_to_back(pair, args.repeat)
            for name in points:
                points[name].append((count, found[name]))
            print(f'| {count} | {found["compiled"] / count * 1e6:.1f} | '
                  f'{found["numpy stacked"] / count * 1e6:.1f} |', flush=True)
        print('\ngrowth exponent of the time in the batch size: ' + ', '.join(
            f'{name} {loglog_slope(p):.2f}' for name, p in points.items()))
    if args.allocator == 'both':
        print(flush=True)
        main([*(argv or sys.argv[1:]), '--allocator', 'retaining'])


if __name__ == '__main__':
    main()
