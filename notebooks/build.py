"""Build the project's notebooks: the single source of truth for them.

Each notebook is defined below as a list of cells (markdown and code), built
with nbformat (v4), executed with nbclient (kernel ``python3``, working
directory ``notebooks/``) and written, with its outputs, next to this file,
so that it reads well on the code host.  Edit the cells here, never the
``.ipynb`` files; then rebuild::

    ./dev python notebooks/build.py                 # every notebook
    ./dev python notebooks/build.py 02              # one: a name, its number or part of it
    ./dev python notebooks/build.py --list          # the names

``tests/test_notebooks.py`` executes every committed notebook (in memory,
never rewriting it) with :func:`execute` and checks that it is the one this
file builds (same cells) and that it was committed with its outputs.

Outputs are kept as deterministic as is reasonable: random data is seeded,
cell ids are fixed, hash randomization is off in the kernel, and the
volatile timing metadata nbclient records is dropped.  Timings (and the
tables built from them) naturally change from one build to the next.
"""
import argparse
import os
import pathlib
import sys
import textwrap

import nbformat
from nbclient import NotebookClient

HERE = pathlib.Path(__file__).resolve().parent
KERNEL = 'python3'
TIMEOUT = 300          # seconds per cell
KERNELSPEC = {'name': KERNEL, 'display_name': 'Python 3 (ipykernel)', 'language': 'python'}

#: name -> function returning the notebook's cells, in the order they appear.
NOTEBOOKS = {}


def notebook(name):
    """Register the function that makes the cells of notebook ``name``."""
    def register(make_cells):
        NOTEBOOKS[name] = make_cells
        return make_cells
    return register


def md(source):
    """A markdown cell (the text is dedented and stripped)."""
    return nbformat.v4.new_markdown_cell(textwrap.dedent(source).strip())


def code(source):
    """A code cell (the text is dedented and stripped)."""
    return nbformat.v4.new_code_cell(textwrap.dedent(source).strip())


# ---------------------------------------------------------------------------
# 01: building computations by hand
# ---------------------------------------------------------------------------

@notebook('01-building-computations')
def building_computations():
    return [
        md(r"""
        # Building computations by hand

        SymPy represents an expression as a *tree*: every node is an operation
        (`Add`, `Mul`, ...) applied to its children.  Trees cannot say that one
        operation produces *two* results, or that a large intermediate result is
        computed once and read twice.  `computations` represents a program as a
        **bipartite directed acyclic graph** instead: *variables* (ellipses) and
        *operations* (boxes), each operation reading some variables and producing
        others.

        This notebook builds such graphs by hand, as in the post *Computations:
        beyond expression trees* that started the project:

        1. opaque operations, `Computation(inputs, outputs)`, and composites made with `+`;
        2. the seed's `MinMax` example, and an operation class of your own;
        3. pictures (in Jupyter every computation shows itself), `dot()` and `to_networkx()`;
        4. BLAS/LAPACK operations (`computations.matrices`), a hand-built Kalman filter,
           and running it on NumPy arrays with `computations.schedulers.execute`.

        Notebook 02 lets the compiler build these graphs from SymPy expressions;
        notebook 03 is about storage (which buffer holds which value).
        """),
        md(r"""
        ## 1. An operation, and composites

        `Computation(inputs, outputs)` is an opaque operation: it reads its inputs
        and produces its outputs, and that is all we know about it.  Variables may
        be any hashable Python value; here, strings.
        """),
        code(r"""
        from computations import Computation, CompositeComputation, Identity

        a = Computation(['w'], ['x'])        # reads w, produces x
        b = Computation(['x', 'y'], ['z'])   # reads x and y, produces z
        print(a)
        print(b)
        """),
        md(r"""
        Adding computations makes a `CompositeComputation`: the graph of all of
        them, joined by their shared variables.  Its **inputs** are the variables
        no member produces, its **outputs** those no member reads; `toposort()`
        lists the members so that every producer comes before its readers.
        """),
        code(r"""
        c = a + b
        print('inputs:   ', c.inputs)
        print('outputs:  ', c.outputs)
        print('variables:', c.variables)
        print('order:    ', c.toposort())
        """),
        md(r"""
        `x` is an intermediate: `b` reads it, so it is not an output.  To keep it,
        mark it with `Identity`, which reads a variable and marks it as wanted
        without computing anything:
        """),
        code(r"""
        (c + Identity('x')).outputs
        """),
        md(r"""
        A computation is a value, like a number or a SymPy expression: it is
        immutable, hashable and equal to any computation built the same way.
        Composition flattens, so `+` is associative and commutative.
        """),
        code(r"""
        print(a + b == b + a)
        print((a + b) + Computation(['z'], ['u']) == a + (b + Computation(['z'], ['u'])))
        print(len({a + b, b + a}))                # one value, so one element of the set
        try:
            c.inputs = ('v',)
        except AttributeError as error:
            print('AttributeError:', error)
        """),
        md(r"""
        Nothing is checked lazily: a composite is indexed when it is made, and a
        cycle or a variable produced twice is an error that names the culprits.
        """),
        code(r"""
        from computations import ConflictingProducersError, CycleError

        for attempt in (lambda: Computation(['x'], ['y']) + Computation(['y'], ['x']),
                        lambda: Computation(['x'], ['y']) + Computation(['z'], ['y'])):
            try:
                attempt()
            except (CycleError, ConflictingProducersError) as error:
                print(f'{type(error).__name__}: {error}')
        """),
        md(r"""
        ## 2. The seed's example: `MinMax`

        The seed post's operation `MinMax` reads two scalars `x` and `y` and
        produces both `Min(x, y)` and `Max(x, y)` from a single comparison.  Two
        outputs: no expression tree can hold it.  Its variables are SymPy
        expressions, and a variable *is* its mathematical meaning: the output of
        `MinMax(x, y)` is the expression `Min(x, y)`, so any other operation that
        needs `Min(x, y)` reads this very variable.

        `computations.examples` defines `MinMax` and the seed's opaque operation
        `A`, which makes `x` from `w`:
        """),
        code(r"""
        import sympy
        from computations.examples import A, MinMax, minmax

        w, x, y = sympy.symbols('w x y')
        mm = MinMax(x, y)
        print(mm.inputs, '->', mm.outputs)
        """),
        md(r"""
        Together, `A` and `MinMax` make the seed's computation.  In Jupyter a
        computation displays as its picture: variables are ellipses (outputs with
        a double border), operations boxes, edges the flow of data.
        """),
        code(r"""
        seed = A([w], [x]) + mm
        seed
        """),
        code(r"""
        print(seed)
        print('inputs', seed.inputs, 'outputs', seed.outputs)
        print(seed == minmax())               # the same computation, from computations.examples
        """),
        md(r"""
        The composite answers graph questions from an index built once, when it is
        made: who produces a variable, who reads it, which members a member
        depends on.
        """),
        code(r"""
        print('producer of x: ', seed.producer(x))
        print('readers of x:  ', seed.consumers(x))
        print('MinMax needs:  ', seed.dependencies(mm))
        print('edges:', list(seed.edges()))
        """),
        md(r"""
        ### An operation of your own

        `MinMax` is a dozen lines (see `computations/examples.py`): a subclass of
        `Computation` lists its identity in `__props__` (the constructor's
        arguments, stored once by `_freeze`) and derives `inputs` and `outputs`
        from them.  Equality, hashing, `repr` and pickling come for free.  Here is
        an operation with three outputs, say a routine that computes the sine and
        cosine of an angle together and their ratio on the way:
        """),
        code(r"""
        class SinCos(Computation):
            __slots__ = ()
            __props__ = ('angle',)

            def __init__(self, angle):
                self._freeze(sympy.sympify(angle))

            @property
            def inputs(self):
                return (self.angle,)

            @property
            def outputs(self):
                return (sympy.sin(self.angle), sympy.cos(self.angle), sympy.tan(self.angle))


        theta = sympy.Symbol('theta')
        trig = SinCos(theta) + MinMax(sympy.sin(theta), sympy.cos(theta))
        print(SinCos(theta) == SinCos(theta), trig.inputs, trig.outputs)
        trig
        """),
        md(r"""
        `tan(theta)` is an output (nobody reads it); `sin(theta)` and
        `cos(theta)` are intermediates: `MinMax` reads them because its inputs
        *are* those expressions.

        ## 3. Pictures and graphs for other tools

        Jupyter shows a computation through its `_repr_mimebundle_` (SVG, and the
        text above as a fallback).  `dot()` gives the `graphviz.Digraph` itself,
        to restyle or render elsewhere (a notebook cell that ends with it shows
        the picture too); `write(path)` renders SVG, PNG or PDF, from the suffix,
        with graphviz's `dot` program.
        """),
        code(r"""
        drawing = seed.dot(rankdir='LR')
        print(drawing.source)
        """),
        code(r"""
        import pathlib
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            path = seed.write(pathlib.Path(tmp) / 'seed.png')
            print(path.name, path.read_bytes()[:4])
        """),
        md(r"""
        `to_networkx()` gives the bipartite graph to `networkx`, for any graph
        question the library does not answer itself.  Nodes are the variables
        and the operations; each carries `kind`, `label`, and for variables a
        `role` (input, output or intermediate).
        """),
        code(r"""
        import networkx as nx

        g = seed.to_networkx()
        for node, attributes in g.nodes(data=True):
            print(attributes)
        print('is a DAG:', nx.is_directed_acyclic_graph(g))
        print('Max(x, y) depends on:', sorted(g.nodes[v]['label'] for v in nx.ancestors(g, sympy.Max(x, y))))
        """),
        md(r"""
        ## 4. Matrix operations, built by hand

        `computations.matrices` has one operation class per BLAS/LAPACK routine,
        named after it: `GEMM`, `SYMM`, `SYRK`, `GEMV`, `AXPY`, `SCAL`, `COPY`,
        `TRMM`, `TRSM`, `POTRF`, `POTRS`, `POSV`, `GETRF`, `GETRS`, `GESV`,
        `TRTRS`.  Their arguments and outputs are SymPy matrix expressions, and
        each declares as data what the routine needs and does:

        - `inplace`: `{output index: input index}`, the input whose memory the routine
          overwrites with that output (notebook 03 is about this);
        - `condition`: what must hold for the routine to compute its outputs;
        - `flops`: its floating-point operation count, in the shapes.
        """),
        code(r"""
        from sympy import MatrixSymbol
        from computations.matrices import GEMM, POSV, POTRF, POTRS

        n, m, p = sympy.symbols('n m p', integer=True, positive=True)
        X, Y, Z = MatrixSymbol('X', n, m), MatrixSymbol('Y', m, p), MatrixSymbol('Z', n, p)
        S, b = MatrixSymbol('S', n, n), MatrixSymbol('b', n, 1)

        for op in (GEMM(2, X, Y, 3, Z), GEMM(1, X, X, trans_b=True), POSV(S, b)):
            print(op)
            print(f'    routine {op.library}.{op.routine}, inplace {op.inplace}, '
                  f'condition {op.condition}, flops {op.flops}')
        """),
        md(r"""
        `POSV` solves `S*x = b` for a symmetric positive definite `S` and also
        returns the Cholesky factor `LofCholesky(S)`, which later solves can
        reuse.  `POTRF` then `POTRS` do the same in two steps; the factor is a
        variable like any other:
        """),
        code(r"""
        A3, B3 = MatrixSymbol('A', 3, 3), MatrixSymbol('B', 3, 1)
        solve = POTRF(A3) + POTRS(A3, B3)
        print(solve)
        solve
        """),
        md(r"""
        ### Running a hand-built program

        `computations.schedulers.execute(computation, {variable: array})` runs a composite on
        `scipy.linalg.blas`/`lapack` and returns `{output: array}`.  It never
        modifies the caller's arrays, and a routine's failure names the
        expression (here, a matrix that is not positive definite):
        """),
        code(r"""
        import numpy as np
        from computations.schedulers import execute

        out = execute(solve, {A3: 2 * np.eye(3), B3: [1., 2., 3.]})
        print(out[A3.I * B3].ravel())
        try:
            execute(solve, {A3: -np.eye(3), B3: [1., 2., 3.]})
        except np.linalg.LinAlgError as error:
            print(f'{type(error).__name__}: {error}')
        """),
        md(r"""
        ### The seed's Kalman filter, by hand

        The Kalman filter updates a normal belief $(\mu, \Sigma)$ about a state
        of size $n$ with an observation `data` of $H x$ (size $k$) with noise
        covariance $R$:

        $$\mu' = \mu + \Sigma H^T (R + H \Sigma H^T)^{-1} (H\mu - \mathrm{data}), \qquad
        \Sigma' = \Sigma - \Sigma H^T (R + H \Sigma H^T)^{-1} H \Sigma.$$

        `computations.matrices.examples.kalman_program()` builds it by hand from
        SYMM, GEMM, GEMV, POSV and POTRS, factoring $S = H \Sigma H^T + R$ once
        (POSV, which also solves for the mean) and reusing the factor for the
        covariance (POTRS).  The sizes stay symbolic.
        """),
        code(r"""
        from computations.matrices.examples import kalman, kalman_numpy, kalman_program

        program = kalman_program()
        print(program)
        """),
        code(r"""
        program
        """),
        md(r"""
        The outputs of the program are exactly SymPy's expressions of the filter
        (`kalman()` returns those, with the inputs and the assumptions), so we
        can ask the graph questions in the mathematics' own terms.  Which
        operations does the new mean need?  Which could run at the same time?
        """),
        code(r"""
        (mu, Sigma, H, R, data), (newmu, newSigma), assumptions = kalman()
        print(program.outputs == (newmu, newSigma))

        g = program.to_networkx()
        needed = nx.ancestors(g, newmu)
        print('newmu needs:', [g.nodes[op]['label'] for op in program.toposort() if op in needed])
        print('newmu does not need:',
              [g.nodes[op]['label'] for op in program.toposort() if op not in needed])
        print('stages of independent operations:')
        for stage in nx.topological_generations(g):
            ops = [g.nodes[node]['label'] for node in stage if g.nodes[node]['kind'] == 'operation']
            if ops:
                print('   ', ops)
        """),
        md(r"""
        Now run it on random, well-conditioned data ($\Sigma$ and $R$ symmetric
        positive definite), at $n = 1000$, $k = 500$, and compare with the same
        update written in NumPy with `np.linalg.solve` (`kalman_numpy`).  The
        symbolic sizes are bound from the arrays' shapes.
        """),
        code(r"""
        rng = np.random.default_rng(0)
        N, K = 1000, 500

        def spd(size):
            M = rng.standard_normal((size, size))
            return M @ M.T / size + np.eye(size)

        values = {mu: rng.standard_normal((N, 1)), Sigma: spd(N), H: rng.standard_normal((K, N)),
                  R: spd(K), data: rng.standard_normal((K, 1))}
        out = execute(program, values)
        expected = kalman_numpy(values[mu], values[Sigma], values[H], values[R], values[data])
        for name, var, reference in zip(['newmu', 'newSigma'], (newmu, newSigma), expected):
            error = np.linalg.norm(out[var] - reference) / np.linalg.norm(reference)
            print(f'{name}: shape {out[var].shape}, relative error {error:.1e}')
        """),
        md(r"""
        Building programs by hand is how the library is tested and how new
        operations are tried out; for everyday work, notebook 02 lets the
        compiler choose the operations from SymPy expressions and their
        properties (it finds a cheaper program than this one).
        """),
    ]


# ---------------------------------------------------------------------------
# 02: the Kalman filter, from SymPy to BLAS/LAPACK
# ---------------------------------------------------------------------------

@notebook('02-kalman-filter')
def kalman_filter():
    return [
        md(r"""
        # The Kalman filter: from SymPy to BLAS/LAPACK

        You write the mathematics with SymPy, state what you know about the
        matrices, and `computations.function` compiles it into a short program
        of BLAS/LAPACK calls, chosen from the properties it infers and the FLOPs
        each alternative costs.  This notebook follows the Kalman filter through
        every stage:

        1. the expressions and the assumptions;
        2. the compiled `Function` and the program it chose (`pseudocode`, `computation`,
           `program`, `source`), with pictures;
        3. a check against NumPy, a timing against `sympy.lambdify`, a per-call profile,
           and the memory the program needs.
        """),
        md(r"""
        ## 1. The mathematics

        The update of a normal belief $(\mu, \Sigma)$ about a state of size $n$
        by an observation `data` of $H x$ (size $k$) with noise covariance $R$:

        $$\mu' = \mu + \Sigma H^T (R + H \Sigma H^T)^{-1} (H\mu - \mathrm{data}), \qquad
        \Sigma' = \Sigma - \Sigma H^T (R + H \Sigma H^T)^{-1} H \Sigma.$$

        The sizes stay symbolic; the covariances are positive definite, which we
        tell the compiler with `Q.positive_definite`.
        """),
        code(r"""
        import numpy as np
        import sympy
        from sympy import MatrixSymbol, Q, Symbol

        import computations

        n, k = Symbol('n', integer=True, positive=True), Symbol('k', integer=True, positive=True)
        mu, Sigma = MatrixSymbol('mu', n, 1), MatrixSymbol('Sigma', n, n)
        H, R, data = MatrixSymbol('H', k, n), MatrixSymbol('R', k, k), MatrixSymbol('data', k, 1)

        newmu = mu + Sigma*H.T*(R + H*Sigma*H.T).I*(H*mu - data)
        newSigma = Sigma - Sigma*H.T*(R + H*Sigma*H.T).I*H*Sigma
        assumptions = [Q.positive_definite(Sigma), Q.positive_definite(R)]
        newSigma
        """),
        md(r"""
        (`computations.matrices.examples.kalman()` returns these same inputs,
        outputs and assumptions, plus `Q.fullrank(H)`.)

        The program the compiler wants solves with $S = R + H \Sigma H^T$ by
        Cholesky, which needs $S$ positive definite.  SymPy's own `ask` cannot
        tell; the compiler's property inference (`Properties`, rule by rule:
        $H \Sigma H^T$ is a congruence of a positive definite matrix, plus a
        positive definite $R$) can:
        """),
        code(r"""
        from computations.matrices import Properties

        S = R + H*Sigma*H.T
        print('sympy.ask:  ', sympy.ask(Q.positive_definite(S), sympy.And(*assumptions)))
        print('Properties: ', Properties(assumptions).ask('positive_definite', S))
        """),
        md(r"""
        ## 2. Compiling

        `computations.function(inputs, outputs, assumptions)` compiles the outputs
        into a `Function`.  The program depends on the sizes (the cheapest order
        of a product does), so it is chosen per shape signature, when first
        called, and cached; `sizes` says which sizes to show the program for
        before any call.  We will run at $n = 1000$, $k = 500$.  Displayed in
        Jupyter, a `Function` shows the program it chose; the sections below take
        that program apart.
        """),
        code(r"""
        N, K = 1000, 500
        f = computations.function([mu, Sigma, H, R, data], [newmu, newSigma], assumptions,
                                  names=['newmu', 'newSigma'], sizes={'n': N, 'k': K})
        f
        """),
        md(r"""
        ### The program, as pseudocode

        One line per BLAS/LAPACK call, in execution order, with the routine in
        brackets (`t'` is a transpose, `chol(t)` a Cholesky factor):
        """),
        code(r"""
        print(f.pseudocode())
        """),
        md(r"""
        Read it line by line against the formula:

        - `H*Sigma` is computed once (SYMM: `Sigma` is symmetric) and serves three
          products through BLAS's transpose flags, since $\Sigma H^T = (H\Sigma)^T$;
        - `R` is added inside GEMM's `beta*C`;
        - $S$ is positive definite, so POSV solves with it by Cholesky, and returns the
          factor `chol(t3)` too;
        - $\Sigma H^T S^{-1} H \Sigma = W^T W$ with $W = L^{-1} H \Sigma$ ($S = L L^T$), so
          the covariance takes one triangular solve (TRSM) and a symmetric rank-k update
          (SYRK), at half the FLOPs of the textbook program;
        - no inverse is ever formed.

        ### The mathematical program: `f.computation`

        The same program as a composite of operations (notebook 01), whose
        variables are the mathematical values.  They are spelled in the
        compiler's canonical form (`Sigma.T` is `Sigma`, which is symmetric), and
        an `Identity` marks the two results.
        """),
        code(r"""
        print(f.computation)
        """),
        code(r"""
        f.computation
        """),
        code(r"""
        print(f'{f.flops / 1e9:.2f} GFLOP at n={N}, k={K}')
        """),
        md(r"""
        ### The token program: `f.program`

        BLAS and LAPACK write their results over their inputs (GEMM into `C`,
        POSV the solution into `B` and the factor into `A`).  The inplace pass
        (notebook 03) pairs every value with a **token**, the name of the buffer
        that holds it, lets routines overwrite buffers where that is provably
        safe, and copies the caller's arrays (`Copy`) where a routine would
        otherwise destroy them.  Each line reads `tokens = OPERATION(tokens)  #
        the values computed`; in the picture each value carries its token in
        brackets, and overwrites are drawn in red.
        """),
        code(r"""
        print(f.program)
        """),
        code(r"""
        f.program
        """),
        md(r"""
        ### The generated source: `f.source`

        What actually runs: Python source with one routine call per line, the
        flags resolved and the typed routines (`dgemm`, `dposv`, ...) bound once.
        `overwrite_*=1` marks an overwrite the inplace pass proved safe, `del`
        frees a buffer after its value's last reader, and the copies of the
        caller's arrays are gone where a routine can read the original and write
        its result elsewhere.
        """),
        code(r"""
        print(f.source)
        """),
        md(r"""
        ## 3. Running it

        A `Function` takes NumPy arrays in the order of its inputs and returns a
        tuple of arrays.  We make random, well-conditioned data ($\Sigma$ and $R$
        symmetric positive definite), seeded so that the notebook gives the same
        numbers every time, and compare with the same update written in NumPy
        with `np.linalg.solve`.
        """),
        code(r"""
        rng = np.random.default_rng(0)

        def spd(size):
            M = rng.standard_normal((size, size))
            return M @ M.T / size + np.eye(size)

        args = (rng.standard_normal((N, 1)), spd(N), rng.standard_normal((K, N)), spd(K),
                rng.standard_normal((K, 1)))
        saved = [a.copy() for a in args]

        def kalman_numpy(mu, Sigma, H, R, data):
            S = R + H @ Sigma @ H.T
            newmu = mu + Sigma @ H.T @ np.linalg.solve(S, H @ mu - data)
            newSigma = Sigma - Sigma @ H.T @ np.linalg.solve(S, H @ Sigma)
            return newmu, newSigma

        results = f(*args)
        expected = kalman_numpy(*args)
        for name, result, reference in zip(f.names, results, expected):
            error = np.linalg.norm(result - reference) / np.linalg.norm(reference)
            print(f'{name}: shape {result.shape}, relative error {error:.1e}')
        print("the caller's arrays are unchanged:",
              all(np.array_equal(a, s) for a, s in zip(args, saved)))
        """),
        md(r"""
        Bad input fails early, with an error that names the argument or the
        expression: a wrong shape is a `ValueError`, and data that violates an
        assumption (here $\Sigma = -I$, so $S$ is not positive definite) a
        `numpy.linalg.LinAlgError` raised by the routine that finds out.
        """),
        code(r"""
        bad_shape = (args[0], args[1], args[2], np.eye(K + 1), args[4])
        not_spd = (args[0], -np.eye(N), args[2], np.eye(K), args[4])
        for bad in (bad_shape, not_spd):
            try:
                f(*bad)
            except (ValueError, np.linalg.LinAlgError) as error:
                print(f'{type(error).__name__}: {error}')
        """),
        md(r"""
        ### Timing against `sympy.lambdify`

        The usual way to run SymPy matrix expressions numerically is
        `sympy.lambdify`, which prints them as NumPy code: the products left to
        right, and an explicit inverse.
        """),
        code(r"""
        import inspect

        lambdified = sympy.lambdify([mu, Sigma, H, R, data], [newmu, newSigma], 'numpy')
        print(inspect.getsource(lambdified))
        """),
        md(r"""
        We time both on the same arrays, as the median of several repetitions,
        and time the compilation too (once per shape signature; `f` has compiled
        already, so we compile a fresh function).
        """),
        code(r"""
        import statistics
        import time
        import timeit

        start = time.perf_counter()
        computations.function([mu, Sigma, H, R, data], [newmu, newSigma], assumptions).specialize(*args)
        compile_seconds = time.perf_counter() - start

        def median_seconds(call, repeat=7):
            call()                                        # warm up
            return statistics.median(timeit.repeat(call, number=1, repeat=repeat))

        compiled = median_seconds(lambda: f(*args))
        lambdify = median_seconds(lambda: lambdified(*args))
        print(f'compiled   {compiled * 1e3:7.1f} ms per call')
        print(f'lambdify   {lambdify * 1e3:7.1f} ms per call')
        print(f'compiled / lambdify: {compiled / lambdify:.2f}x the time')
        print(f'compiling  {compile_seconds * 1e3:7.1f} ms, once per shape signature')
        """),
        md(r"""
        ### Where the time goes: `f.profile`

        `f.profile(*args)` runs the program once, timing every routine call, and
        compares the achieved GFLOP/s with what this machine reaches on a large
        DGEMM (the usual yardstick).  Small calls (GEMV) run far below it; the
        level-3 calls (SYMM, GEMM, TRSM, SYRK) near it.  The numbers change from
        run to run, the more so on a busy machine (we profile twice and show the
        second run, after the first has warmed up).
        """),
        code(r"""
        f.profile(*args)
        print(f.profile(*args))
        """),
        md(r"""
        ### Memory: `f.peak_bytes`

        `f.peak_bytes(*arrays or shapes)` predicts, from the shapes alone, the
        most bytes the program holds at once: the buffers it allocates and its
        results.  The order of the calls is chosen to keep that peak low, and a
        result may go into the buffer of a dead value of its shape.  It also
        counts the copies the call makes of inputs that are not Fortran-ordered
        (BLAS's layout): NumPy makes C-ordered arrays, so our `H` is copied (a
        symmetric `Sigma` or `R` is read as its own transpose, without a copy).

        Compare the prediction with what `tracemalloc` (to which NumPy reports
        its allocations) measures for one call, and with the lambdified code:
        """),
        code(r"""
        import tracemalloc

        def traced_peak(call):
            tracemalloc.start()
            try:
                call()
                return tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()

        MB = 1e6
        fortran = tuple(np.asfortranarray(a) for a in args)
        print(f"{'':28} predicted  traced")
        for label, arrays in (('compiled, C-ordered arrays', args), ('compiled, Fortran-ordered', fortran)):
            print(f'{label:28} {f.peak_bytes(*arrays) / MB:6.1f} MB {traced_peak(lambda: f(*arrays)) / MB:6.1f} MB')
        print(f"{'lambdify':28} {'':9} {traced_peak(lambda: lambdified(*fortran)) / MB:6.1f} MB")
        print(f'for scale: Sigma is {args[1].nbytes / MB:.1f} MB, H {args[2].nbytes / MB:.1f} MB')
        """),
        md(r"""
        The prediction needs no data: shapes will do (and then assume
        Fortran-ordered arrays), for example to see how the memory grows with
        the state.
        """),
        code(r"""
        for size in (1000, 2000, 4000):
            shapes = [(size, 1), (size, size), (size // 2, size), (size // 2, size // 2),
                      (size // 2, 1)]
            print(f'n={size:5}, k={size // 2:5}: {f.peak_bytes(*shapes) / MB:7.1f} MB')
        """),
        md(r"""
        ## Other problems

        `computations.matrices.examples.problems` bundles two more problems
        (the command line, `computations run NAME`, runs them too).
        Generalized least squares, with a positive definite covariance $\Omega$
        and a design matrix $X$ of full column rank, compiles into Cholesky
        solves and a SYRK, never forming $\Omega^{-1}$:
        """),
        code(r"""
        from computations.matrices.examples.problems import PROBLEMS, random_inputs

        gls = PROBLEMS['gls']()
        print(gls.description, ':', gls.outputs[0], 'assuming', gls.assumptions)
        g = computations.function(gls.inputs, gls.outputs, gls.assumptions, names=gls.names,
                                  sizes={'n': 2000, 'p': 500})
        print(g.pseudocode())
        X, Omega, y = random_inputs(gls, {'n': 2000, 'p': 500})
        beta, = g(X, Omega, y)
        reference = np.linalg.solve(X.T @ np.linalg.solve(Omega, X), X.T @ np.linalg.solve(Omega, y))
        print(f'relative error {np.linalg.norm(beta - reference) / np.linalg.norm(reference):.1e}')
        """),
    ]


# ---------------------------------------------------------------------------
# 03: the inplace pass
# ---------------------------------------------------------------------------

@notebook('03-inplace-pass')
def inplace_pass():
    return [
        md(r"""
        # The inplace pass: where each value lives

        A computation (notebooks 01 and 02) is pure mathematics: its variables are
        values, such as `Sigma*H.T`, and nothing says where they are stored.  But
        BLAS and LAPACK routines write their results *over their inputs*: GEMM
        computes `alpha*A*B + beta*C` into `C`, POSV overwrites `A` with its
        Cholesky factor and `B` with the solution.  Overwriting saves memory and
        time, and destroys a value that someone may still need.

        The seed post's answer is to keep the two questions apart: **mathematics
        first, storage second**.  This notebook shows the second stage, the
        `inplace` package:

        1. tokens: a value paired with the name of the buffer that holds it;
        2. `inplace_compile`, which assigns tokens, overwrites where that is safe and
           copies where it is not;
        3. `check`, which proves a token program safe, and rejects an unsafe plan with
           an error that explains what would have been destroyed.
        """),
        md(r"""
        ## 1. Tokens

        An `ExprToken(expr, token)` is a mathematical value and the name of its
        buffer (a Python identifier, since generated code uses it as a local
        variable).  A `TokenComputation(comp, input_tokens, output_tokens)` is an
        operation whose every input and output carries a token.

        The seed's `MinMax`, *pure*: it reads `x` and `y` from buffers `x` and
        `y` and writes its results into new buffers `_1` and `_2`:
        """),
        code(r"""
        import sympy
        from computations.examples import A, MinMax
        from computations.inplace import ExprToken, TokenComputation

        x, y, w = sympy.symbols('x y w')
        print(ExprToken(x, 'x'))
        pure_minmax = TokenComputation(MinMax(x, y), ['x', 'y'], ['_1', '_2'])
        print(pure_minmax)
        pure_minmax
        """),
        md(r"""
        An operation may write an output into the buffer of an input only if its
        routine can: the operation declares that as its `inplace` map,
        `{output index: input index}`.  `MinMax` declares none; a variant that
        writes the minimum over `x` and the maximum over `y` (the seed's second
        picture) declares `{0: 0, 1: 1}`.  A token computation overwrites exactly
        where an output carries the token of the input its map names: its
        `destroy_map`.
        """),
        code(r"""
        class InplaceMinMax(MinMax):
            __slots__ = ()
            inplace = {0: 0, 1: 1}     # Min(x, y) over x, Max(x, y) over y


        inplace_minmax = TokenComputation(InplaceMinMax(x, y), ['x', 'y'], ['x', 'y'])
        print(inplace_minmax, '   destroy_map', inplace_minmax.destroy_map)
        inplace_minmax
        """),
        md(r"""
        The BLAS/LAPACK operations declare their maps as data:
        """),
        code(r"""
        from sympy import MatrixSymbol
        from computations.matrices import GEMM, POSV, SCAL

        size = 3
        S, B, X, Y = (MatrixSymbol(name, size, size) for name in 'SBXY')
        for op in (GEMM(1, S, X, 1, Y), SCAL(2, X), POSV(S, B)):
            print(f'{type(op).__name__:5} inplace {op.inplace}:  {op}')
        """),
        md(r"""
        ## 2. `inplace_compile`

        Take a small composite in which one value is read twice: `GEMM` reads
        `S` to compute `S*X`, and `POSV` solves with `S`, overwriting it with its
        Cholesky factor.
        """),
        code(r"""
        from computations.inplace import check, inplace_compile, insert_copies, tokenize

        comp = GEMM(1, S, X) + POSV(S, B)
        comp
        """),
        md(r"""
        The pass runs in three steps, each available on its own:

        - `tokenize`: the *pure* program, one new token per value, nothing overwritten;
        - `insert_copies`: every overwrite a routine can do, each on a private `Copy`
          (safe by construction, wasteful);
        - `inplace_compile`: the copies that are not needed removed.
        """),
        code(r"""
        print('tokenize:', tokenize(comp), sep='\n')
        print()
        print('insert_copies:', insert_copies(comp), sep='\n')
        """),
        code(r"""
        program = inplace_compile(comp)
        print(program)
        """),
        md(r"""
        Here no copy can go: `S` and `B` are the **caller's arrays**, and the
        program must not destroy them.  So POSV works on copies (`S_2`, `B_2`),
        and writes its results over those copies.  The token program is drawn
        with each variable labelled by its value and, in brackets, its token:
        """),
        code(r"""
        program
        """),
        md(r"""
        A caller who does not need `S` and `B` afterwards may **donate** them:
        then POSV overwrites them directly, and the pass orders GEMM, which
        still reads `S`, before POSV destroys it.
        """),
        code(r"""
        donated = inplace_compile(comp, donate=[S, B])
        print(donated)
        donated
        """),
        md(r"""
        Donation does not license every overwrite.  Here `SCAL` would double `Y`
        in place, but `GEMM` needs `Y` and `2*Y` *at the same time*: one buffer
        cannot hold both, so the pass copies `Y` even though it was donated.
        """),
        code(r"""
        both = SCAL(2, Y) + GEMM(1, Y, 2*Y)
        print(inplace_compile(both, donate=[Y]))
        """),
        md(r"""
        ### `check` accepts it

        `check(program)` proves a token program safe by simulating, step by step,
        which value each token holds, and returns the order it checked.  Every
        program `inplace_compile` emits passes (an invariant the test suite
        checks on random programs).
        """),
        code(r"""
        for step, node in enumerate(check(program), 1):
            print(step, node)
        print('donated:', [type(node.comp).__name__ for node in check(donated, donate=[S, B])])
        """),
        md(r"""
        Running the program proves nothing, but it is reassuring: the results
        match NumPy, and the caller's arrays are untouched.
        """),
        code(r"""
        import numpy as np
        from computations.schedulers import execute

        rng = np.random.default_rng(0)
        M = rng.standard_normal((size, size))
        s, b, xv = M @ M.T + size * np.eye(size), rng.standard_normal((size, size)), rng.standard_normal((size, size))
        saved = s.copy(), b.copy()
        out = execute(comp, {S: s, B: b, X: xv})
        print(np.allclose(out[S * X], s @ xv), np.allclose(out[S.I * B], np.linalg.solve(s, b)))
        print("the caller's S and B unchanged:", np.array_equal(s, saved[0]) and np.array_equal(b, saved[1]))
        """),
        md(r"""
        ## 3. An unsafe plan, rejected

        The seed post's warning: *we must avoid situations where `x` may be
        overwritten (by `B`) before it is read (by `C`).*  Let us make that
        mistake by hand.  `X` lives in token `X`; `GEMM` reads it to compute
        `X*X` into a new buffer `XX`; `SCAL` doubles it **in place**, writing
        `2*X` over token `X`.  (We donate `X`, so overwriting the caller's array
        is allowed.)
        """),
        code(r"""
        from computations.inplace import UnsafeInplaceError

        square = TokenComputation(GEMM(1, X, X), ['X', 'X'], ['XX'])
        double = TokenComputation(SCAL(2, X), ['X'], ['X'])
        plan = square + double
        print(plan)
        print('SCAL destroy_map:', double.destroy_map)
        """),
        md(r"""
        The plan is safe in one order only: GEMM must read `X` before SCAL
        destroys it.  An order is part of a plan; run SCAL first and `check`
        rejects it with an `UnsafeInplaceError` that names the operation, the
        token, the value destroyed and the reader that still needed it:
        """),
        code(r"""
        unsafe_order = [double, square]
        try:
            check(plan, order=unsafe_order, donate=[X])
        except UnsafeInplaceError as error:
            print(f'UnsafeInplaceError: {error}')
            print()
            print('operation:', error.operation)
            print('token:    ', error.token)
            print('value:    ', error.value)
            print('reader:   ', error.reader)
        """),
        md(r"""
        The picture shows the plan's data flow, overwrites in red: `SCAL` takes
        `X` from buffer `X` and writes `2*X` into that same buffer, while `GEMM`
        also reads `X` from it.  Nothing in the picture fixes which runs first;
        that is where this plan goes wrong.
        """),
        code(r"""
        plan
        """),
        md(r"""
        What would have happened without the check?  The interpreter
        (`computations.schedulers.run_program`) trusts the order it is given.  Run the unsafe
        order and GEMM reads `2*X` where it wanted `X`: it returns `4*X**2`,
        silently, a plausible-looking wrong answer.
        """),
        code(r"""
        from computations.schedulers import prepare_inputs, run_program

        xv = rng.standard_normal((size, size))
        values = prepare_inputs([v.expr for v in plan.inputs], {X: xv.copy()})
        wrong = run_program(plan, unsafe_order, values, donate=[X])[X**2]
        print('X*X expected:\n', xv @ xv)
        print('X*X computed in the unsafe order:\n', wrong)
        print('ratio:', np.round(wrong / (xv @ xv), 12))
        """),
        md(r"""
        In the safe order `check` accepts the same plan, but only because we
        donated `X`: without donation the plan destroys the caller's input,
        which no order can make safe.
        """),
        code(r"""
        print([type(node.comp).__name__ for node in check(plan, donate=[X])])
        try:
            check(plan)
        except UnsafeInplaceError as error:
            print(f'UnsafeInplaceError: {error}')
        """),
        md(r"""
        ### The other ways to be unsafe

        `check` rejects, with an explanation, every kind of unsafe plan: two
        operations that both destroy one value; an operation that overwrites a
        buffer it also reads through another argument (aliasing); and overwrites
        that no order can satisfy (each operation destroying what the other
        reads, a cycle).
        """),
        code(r"""
        from computations.matrices import AXPY

        T = TokenComputation
        plans = {
            'two destroyers': T(SCAL(2, Y), ['y'], ['y']) + T(SCAL(3, Y), ['y'], ['y']),
            'aliasing': T(GEMM(1, X, X), ['x', 'x'], ['c']) + T(GEMM(1, Y, X*X, 1, X*X), ['y', 'c', 'c'], ['c']),
            'a cycle': T(AXPY(1, X, Y), ['x', 'y'], ['y']) + T(AXPY(2, Y, X), ['y', 'x'], ['x']),
        }
        for name, unsafe in plans.items():
            try:
                check(unsafe, donate=[X, Y])
                print(f'{name}: accepted')
            except UnsafeInplaceError as error:
                print(f'{name}:\n    {error}')
                if error.cycle:
                    print('    the cycle:', *error.cycle, sep='\n        ')
        """),
        md(r"""
        The inplace pass never emits such plans: for each of them
        `inplace_compile` finds a safe one, with a copy where one is needed.
        """),
        code(r"""
        from computations.inplace import pure

        for name, unsafe in plans.items():
            safe = inplace_compile(pure(unsafe), donate=[X, Y])
            check(safe, donate=[X, Y])
            print(f'{name}:', *safe, sep='\n    ')
        """),
    ]


# ---------------------------------------------------------------------------
# 04: blocked programs on Dask
# ---------------------------------------------------------------------------

@notebook('04-blocked-programs-on-dask')
def blocked_programs():
    return [
        md(r"""
        # Blocked programs on Dask

        When matrices outgrow one machine's memory or cores, the same program can
        run as operations on **blocks**.  `computations.function(...,
        blocksize=...)` transforms the program (not the SymPy expressions: SymPy's
        `block_collapse` takes seconds on this filter): every GEMM, SYMM, SYRK,
        GEMV becomes block products with accumulation, POTRF the right-looking
        blocked Cholesky, POTRS and TRSM blocked substitution.  The blocked
        program is an ordinary composite you can print, draw and check, and
        `scheduler=` runs it in process, on Dask's threads, or on a cluster.
        Called on dask arrays instead of NumPy arrays, a compiled function
        returns dask arrays, blocked by their chunks and computed only when asked
        (the last section).
        """),
        code(r"""
        import numpy as np
        import computations
        from computations.matrices.examples.problems import PROBLEMS, random_inputs

        problem = PROBLEMS['kalman']()
        f = computations.function(problem.inputs, problem.outputs, problem.assumptions)
        g = computations.function(problem.inputs, problem.outputs, problem.assumptions,
                                  blocksize={'n': 200, 'k': 100})
        args = random_inputs(problem, {'n': 400, 'k': 200})
        expected = f(*args)
        spec = g.specialize(*args)
        print(len(spec.unblocked.computations), 'operations unblocked,',
              len(spec.computation.computations), 'blocked')
        """),
        md(r"""
        ## The blocked program

        Each block is a symbol named after the value it is a block of: `H[0,1]`,
        `t2[0,0]` (a block of `H*Sigma`), `t2[0,0].1` (a partial sum),
        `chol(t3)[1,1].u1` (a trailing block of the Cholesky factorization after
        one update).  `Split` cuts the inputs into blocks, `Assemble` puts the
        outputs together:
        """),
        code(r"""
        print(*[line for line in str(spec.computation).splitlines()
                if 'POTRF' in line or 'Split' in line or 'chol' in line][:12], sep='\n')
        """),
        md(r"""
        The blocked Cholesky factorization of the 2x2-block matrix
        `S = H*Sigma*H.T + R`, drawn (only the operations that make the factor):
        """),
        code(r"""
        from computations import CompositeComputation
        factor = CompositeComputation(*[op for op in spec.computation
                                        if any('chol' in str(v) for v in op.outputs)])
        factor
        """),
        md(r"""
        ## Running it: in process, on threads, on a cluster

        The results are the same whichever way the program runs.  On a
        `distributed.Client`, each block operation is one task, which looks its
        routine up by name and never modifies its inputs; the inputs' blocks
        travel inside the graph, so the scheduler can re-create them if a worker
        dies, and each call's keys carry a token of their own, so calls can
        overlap.  `dashboard_address='127.0.0.1:0'` serves the dashboard on a
        free port.
        """),
        code(r"""
        from distributed import Client, LocalCluster

        def error(results):
            return max(float(np.abs(r - e).max() / np.abs(e).max())
                       for r, e in zip(results, expected))

        print('in process', error(g(*args)))
        print('threads   ', error(g(*args, scheduler='threads')))
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                          dashboard_address='127.0.0.1:0') as cluster, Client(cluster) as client:
            print('cluster   ', error(g(*args, scheduler=client)))
        """),
        md(r"""
        A block that is not positive definite fails as in process, with the
        error naming the block:
        """),
        code(r"""
        import sympy
        from computations.matrices import NotPositiveDefiniteError
        S, Y = sympy.MatrixSymbol('S', 6, 6), sympy.MatrixSymbol('Y', 6, 1)
        h = computations.function([S, Y], [S.I * Y], [sympy.Q.positive_definite(S)], blocksize=3)
        bad = np.eye(6)
        bad[4, 4] = -1.0
        try:
            h(bad, np.ones(6), scheduler='threads')
        except NotPositiveDefiniteError as e:
            print(type(e).__name__, e)
        """),
        md(r"""
        ## dask.array in, dask.array out

        Matrices too large for one process are usually dask arrays already (read
        from zarr or HDF5, or made by another computation).  Call a compiled
        function on dask arrays and it computes nothing: it returns dask arrays
        whose graph is the program blocked by the inputs' **chunks**, one task per
        block operation, each reading only the chunks it needs.  No `blocksize=`
        is needed: `update`, compiled without one, takes its blocks of 100 from
        the chunks.  (`names=` names the results, and so their keys.)
        """),
        code(r"""
        import dask
        import dask.array as da

        update = computations.function(problem.inputs, problem.outputs, problem.assumptions,
                                       names=problem.names)
        mu, Sigma, H, R, data = args
        lazy = [da.from_array(a, chunks=100) for a in args]
        newmu, newSigma = update(*lazy)                  # nothing is computed here
        print(newmu)
        print(newSigma)
        print('chunks of newSigma:', newSigma.chunks)
        """),
        md(r"""
        The results' graph is an ordinary dask `HighLevelGraph`: a layer for each
        input, one for the program and one for each result.  Every key is named
        after the value it is a block of (`t2` is `H*Sigma`, `t2_v_1` its first
        partial sums, `chol_t3` the Cholesky factor of `S`), with a token of the
        call, so the dashboard groups the tasks by value and the same call gives
        the same keys:
        """),
        code(r"""
        from collections import Counter
        from dask.utils import key_split

        graph = newSigma.__dask_graph__()
        print(type(graph).__name__, [key_split(name) for name in graph.layers])
        program = next(layer for name, layer in graph.layers.items()
                       if name.startswith('computations-'))
        print(len(program), 'block operations:',
              dict(Counter(key_split(key) for key in program).most_common(8)), '...')
        print(update(*lazy)[1].name == newSigma.name)
        """),
        md(r"""
        ### Computing on a cluster

        The results are ordinary dask arrays: `.compute()` gathers one to the
        client, `.persist()` computes it and keeps its blocks on the workers, and
        `dask.compute(...)` computes several at once, sharing their common work.
        Here on a `LocalCluster` of two worker processes with one thread each, on
        loopback; `distributed.progress` shows the persisted blocks being made
        (`notebook=False`: a text bar rather than a widget).  The dashboard is at
        `client.dashboard_link` (its plots need `bokeh`, which this project does
        not install).  The results are checked against the update written in
        NumPy (`kalman_numpy`):
        """),
        code(r"""
        from distributed import progress
        from computations.matrices.examples import kalman_numpy

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, host='127.0.0.1',
                               dashboard_address='127.0.0.1:0')
        client = Client(cluster)
        print(client.dashboard_link)
        kept = client.persist(newSigma)                  # computed on the workers, kept there
        progress(kept, notebook=False)
        print()
        reference = kalman_numpy(*args)
        got = dask.compute(newmu, kept)                  # gathered to the client only now
        for name, g, e in zip(problem.names, got, reference):
            print(name, type(g).__name__, g.shape, 'relative error',
                  f'{float(np.abs(g - e).max() / np.abs(e).max()):.1e}')
        """),
        md(r"""
        ### Mixed inputs, and chunks that disagree

        NumPy arguments may be mixed in: they are cut into the same blocks as the
        dask ones.  Dask arguments whose chunks disagree along a dimension are
        rechunked to one chunking (the first dask argument's along it), with a
        `RechunkWarning` naming the dimension and the inputs rechunked:
        """),
        code(r"""
        import warnings
        from computations.schedulers.dask_arrays import RechunkWarning

        mixed = update(mu, da.from_array(Sigma, chunks=100), H, R, data)   # only Sigma lazy
        print('mixed:', [x.chunks for x in mixed])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always', RechunkWarning)
            odd = update(*lazy[:2], da.from_array(H, chunks=(100, 80)), *lazy[3:])
        for w in caught:
            print(type(w.message).__name__ + ':', w.message)
        print('rechunked:', odd[1].chunks)
        print('same results:', all(np.allclose(a, b) for a, b in
                                   zip(dask.compute(*mixed, *odd), [*got, *got])))
        """),
        md(r"""
        ### Chaining: compiled functions and dask.array code

        A result can be the argument of another compiled function, and of any
        dask.array code, and nothing is computed in between.  Here a prediction
        step (`F*mu`, `F*Sigma*F.T + W`), compiled separately, takes the update's
        lazy results; a second update takes the prediction's, with new data; and
        dask.array's own `diagonal`, `sqrt` and `max` take the second update's
        covariance.  One `dask.compute` runs the three programs and the
        dask.array code as one graph:
        """),
        code(r"""
        n = problem.inputs[1].shape[0]
        F, W = sympy.MatrixSymbol('F', n, n), sympy.MatrixSymbol('W', n, n)
        predict = computations.function(problem.inputs[:2] + (F, W),
                                        [F * problem.inputs[0], F * problem.inputs[1] * F.T + W],
                                        [sympy.Q.positive_definite(W)],
                                        names=['mu_pred', 'Sigma_pred'])
        rng = np.random.default_rng(1)
        F_, W_ = np.eye(400) + 0.01 * rng.standard_normal((400, 400)), 0.1 * np.eye(400)
        data2 = rng.standard_normal(data.shape)

        mu_pred, Sigma_pred = predict(newmu, newSigma, da.from_array(F_, chunks=100), W_)
        mu2, Sigma2 = update(mu_pred, Sigma_pred, lazy[2], lazy[3], data2)
        spread = da.sqrt(da.diagonal(Sigma2)).max()      # dask.array code on a result
        print(Sigma2, spread, sep='\n')

        got_mu2, got_spread = dask.compute(mu2, spread)
        m, S = kalman_numpy(*args)
        ref_mu2, ref_Sigma2 = kalman_numpy(F_ @ m, F_ @ S @ F_.T + W_, H, R, data2)
        print('mu2 relative error', f'{float(np.abs(got_mu2 - ref_mu2).max() / np.abs(ref_mu2).max()):.1e}')
        print('largest standard deviation', f'{float(got_spread):.6f}', 'NumPy',
              f'{np.sqrt(np.diag(ref_Sigma2)).max():.6f}')
        """),
        md(r"""
        ### Without a cluster

        Dask's local schedulers (`'threads'`, `'sync'`) compute the same arrays,
        and `dask.diagnostics.ProgressBar` shows their progress (it does not see
        a `distributed.Client`'s work: use `progress` or the dashboard there):
        """),
        code(r"""
        from dask.diagnostics import ProgressBar

        client.close()
        cluster.close()
        with ProgressBar(dt=0.05):
            local = newSigma.compute(scheduler='threads')
        print(np.allclose(local, got[1]))
        """),
        md(r"""
        A block that is not positive definite fails when the array is computed,
        with the same named error as in process (on a cluster too, where the
        worker also logs the failure):
        """),
        code(r"""
        (bad_solution,) = h(da.from_array(bad, chunks=3), da.ones(6, chunks=3))
        try:
            bad_solution.compute(scheduler='threads')
        except NotPositiveDefiniteError as e:
            print(type(e).__name__, e)
        """),
        md(r"""
        On this project's 2-core test machine blocking does not make the filter
        faster (OpenBLAS already uses both cores on the unblocked calls); what it
        buys is a bound on each task's working memory.  The figures are in
        `docs/benchmarks.md` (`./dev bench dask`, and `./dev bench dask_arrays`
        for dask arrays against dask.array's own linear algebra); the
        documentation's page "Running on a cluster" (`docs/cluster.md`) says more
        about chunks, deployments and the limits of this path.
        """),
    ]


# ---------------------------------------------------------------------------
# 05: gradients
# ---------------------------------------------------------------------------

@notebook('05-gradients')
def gradients():
    return [
        md(r"""
        # Gradients

        `computations.grad` differentiates a scalar SymPy expression of matrices
        (a trace, a log-determinant, arithmetic of them) with respect to matrix
        symbols, in reverse mode, and returns the gradients as **SymPy matrix
        expressions**.  So the compiler treats a gradient like any other output:
        `computations.function` compiles a value and its gradient together into
        one BLAS/LAPACK program, and they share its factorizations and products.

        1. `grad` and its convention, on small examples;
        2. scalar outputs: a compiled function returns traces and log-determinants
           as Python floats;
        3. a Gaussian process's negative log marginal likelihood and its gradient,
           checked against NumPy and finite differences, and the chain rule to its
           kernel's lengthscale;
        4. the Cholesky factor as a differentiable value, against the seed notebook's
           pure-Python loop;
        5. gradients are ordinary expressions: everything else applies.
        """),
        md(r"""
        ## 1. `grad`

        `grad(expr, wrt, assumptions=())` returns, for a scalar `expr` and a
        `MatrixSymbol` `X`, the matrix `G` with

        $$df = \mathrm{Trace}(G^T\,dX) = \textstyle\sum_{ij} G_{ij}\,dX_{ij}$$

        for every perturbation `dX`: each entry of `X` is its own variable (the
        Matrix Cookbook's convention).  A list of symbols gives a list of
        gradients.
        """),
        code(r"""
        import numpy as np
        import sympy
        from sympy import Determinant, MatrixSymbol, Q, Symbol, Trace, log, pi

        import computations

        n, m = Symbol('n', integer=True, positive=True), Symbol('m', integer=True, positive=True)
        A, X, B = MatrixSymbol('A', n, m), MatrixSymbol('X', m, m), MatrixSymbol('B', n, m)
        S = MatrixSymbol('S', m, m)

        print(computations.grad(Trace(A*X*A.T), X))
        print(computations.grad(Trace(A*X*A.T), [X, A]))
        print(computations.grad(log(Determinant(S)), S))
        print(computations.grad(Determinant(S), S))
        print(computations.grad(Trace(S.I), S))
        assert computations.grad(Trace(A*X*A.T), [X, A]) == [A.T*A, A*X + A*X.T]
        """),
        md(r"""
        Scalars are written as traces (a quadratic form $y^T A y$ as
        `Trace(y.T*A*y)`; a 1x1 matrix expression is taken as its trace),
        determinants and their logarithms, and arithmetic and functions of these.
        `frobenius_norm(X)` spells $\sqrt{\mathrm{Trace}(X^T X)}$.  Assumptions
        only tidy the result: for a symmetric `S`, `S.T` is `S`.
        """),
        code(r"""
        residual = computations.frobenius_norm(A*X - B)
        print(computations.grad(residual, X))
        print(computations.grad(log(Determinant(S)), S, [Q.positive_definite(S)]))
        assert computations.grad(log(Determinant(S)), S, [Q.positive_definite(S)]) == S.I
        """),
        md(r"""
        The rules, one per kind of node (the full table is in the docstring of
        `computations.matrices.gradients`), each passing the node's adjoint `G`
        to its arguments:

        | node | adjoint of the argument |
        |---|---|
        | `Trace(M)` | `G*I` |
        | `log(Determinant(M))` | `G*M.-T` |
        | `c*A*B*C` | `c*A.T*G*C.T` for `B` |
        | `A.I` | `-A.-T*G*A.-T` |
        | `LofCholesky(K)` | `L.-T*SymmetricLower(L.T*G)*L.-1/2` (section 4) |
        | scalar functions | the chain rule |

        ## 2. Scalar outputs

        `computations.function` accepts scalar outputs, which come back as Python
        floats.  The Frobenius norm of a residual and its gradient, compiled
        together: the residual `t1` is computed once, its squared norm by an
        inner product (INNER), and the arithmetic on scalars by a `SCALAR` step.
        We check both against NumPy.
        """),
        code(r"""
        lsq = computations.function([A, X, B], [residual, computations.grad(residual, X)],
                                    names=['norm', 'gradient'])
        print(lsq.pseudocode())

        rng = np.random.default_rng(0)
        a, x, b = rng.standard_normal((50, 5)), rng.standard_normal((5, 5)), rng.standard_normal((50, 5))
        norm, gradient = lsq(a, x, b)
        r = a @ x - b
        print(type(norm).__name__, norm)
        assert isinstance(norm, float) and np.isclose(norm, np.linalg.norm(r))
        assert np.allclose(gradient, a.T @ r / np.linalg.norm(r))
        """),
        md(r"""
        ## 3. A Gaussian process: the likelihood and its gradient

        Gaussian-process regression models observations $y$ (at inputs $x$) as
        one draw of a normal vector with covariance $K$, the kernel matrix.  The
        hyperparameters of the kernel are fitted by minimizing the **negative log
        marginal likelihood**

        $$\mathrm{NLML}(K) = \tfrac12\, y^T K^{-1} y + \tfrac12 \log\det K + \tfrac n2 \log 2\pi,$$

        which needs its gradient.  With respect to $K$, `grad` finds the textbook
        $\tfrac12 K^{-1} - \tfrac12 K^{-1} y y^T K^{-1}$:
        """),
        code(r"""
        K, y = MatrixSymbol('K', n, n), MatrixSymbol('y', n, 1)
        nlml = Trace(y.T*K.I*y)/2 + log(Determinant(K))/2 + n*log(2*pi)/2
        gK = computations.grad(nlml, K, [Q.positive_definite(K)])
        gK
        """),
        md(r"""
        We compile the likelihood and its gradient into one function, at the
        size we will run, $n = 200$:
        """),
        code(r"""
        N = 200
        gp = computations.function([K, y], [nlml, gK], [Q.positive_definite(K)],
                                   names=['nlml', 'gradient'], sizes={'n': N})
        print(gp)
        """),
        md(r"""
        The program factors $K$ **once** (by Cholesky, since it is positive
        definite), and everything else comes from that factor: the solve
        $K^{-1}y$, the inverse the gradient needs, and the log-determinant, which
        `CHOLESKY_DETERMINANT` reads off the factor's diagonal
        ($\log\det K = 2\sum_i \log L_{ii}$).  The quadratic form and the constant
        are scalars, combined by the last step.  Drawn:
        """),
        code(r"""
        gp
        """),
        md(r"""
        Let us check that claim on the program compiled for real arrays: one
        operation produces the factor `LofCholesky(K)`, and no other factors $K$.

        The data: 200 noisy observations of a sine at sorted random points of
        $[0, 10]$, and a squared-exponential kernel with lengthscale $\ell$ plus
        noise on the diagonal,
        $K_{ij} = \exp\!\big(-(x_i - x_j)^2 / 2\ell^2\big) + 0.1\,\delta_{ij}$.
        """),
        code(r"""
        from computations.matrices import LofCholesky

        rng = np.random.default_rng(0)
        xs = np.sort(rng.uniform(0, 10, N))
        ys = (np.sin(xs) + 0.3 * rng.standard_normal(N))[:, None]
        squared_distances = (xs[:, None] - xs[None, :])**2
        NOISE = 0.1

        def kernel(lengthscale):
            return np.exp(-squared_distances / (2 * lengthscale**2)) + NOISE * np.eye(N)

        Kv = kernel(1.0)
        ops = gp.specialize(Kv, ys).computation.toposort()
        factorizations = [op for op in ops if LofCholesky(K) in op.outputs]
        print('produce LofCholesky(K):', factorizations)
        print('all operations:        ', [type(op).__name__ for op in ops])
        routines = [type(op).__name__ for op in ops]
        assert len(factorizations) == 1 and not {'POTRF', 'GETRF', 'GESV'} & set(routines)
        assert 'CHOLESKY_DETERMINANT' in routines
        """),
        md(r"""
        ### Against NumPy

        The value comes back as a float, the gradient as an array.  The NumPy a
        user would write forms the inverse and calls `slogdet`, which factors $K$
        a second time:
        """),
        code(r"""
        value, G = gp(Kv, ys)

        Kinv = np.linalg.inv(Kv)
        alpha = Kinv @ ys
        reference = 0.5 * (ys.T @ alpha).item() + 0.5 * np.linalg.slogdet(Kv)[1] + 0.5 * N * np.log(2 * np.pi)
        reference_gradient = 0.5 * (Kinv - alpha @ alpha.T)
        print(f'NLML {value!r} ({type(value).__name__}), NumPy {float(reference)!r}')
        print(f'gradient {G.shape}, relative error '
              f'{np.abs(G - reference_gradient).max() / np.abs(reference_gradient).max():.1e}')
        assert isinstance(value, float) and np.isclose(value, reference, rtol=1e-12)
        assert np.allclose(G, reference_gradient, rtol=1e-10, atol=1e-12)
        """),
        md(r"""
        ### Against finite differences

        By the convention, the derivative of the NLML along a direction $D$ is
        $\sum_{ij} G_{ij} D_{ij}$.  $K$ is symmetric (it is assumed positive
        definite), so we perturb it along a random *symmetric* direction, of unit
        Frobenius norm, and compare with a central difference of the compiled
        function itself:
        """),
        code(r"""
        D = rng.standard_normal((N, N))
        D = (D + D.T) / np.linalg.norm(D + D.T)
        h = 1e-5
        central = (gp(Kv + h * D, ys)[0] - gp(Kv - h * D, ys)[0]) / (2 * h)
        directional = np.sum(G * D)
        print(f'sum(G*D) = {directional:.10f}, central difference = {central:.10f}')
        assert np.isclose(directional, central, rtol=1e-6)
        """),
        md(r"""
        ### The chain rule, to the lengthscale

        The kernel's hyperparameters reach the likelihood through $K$ only, so
        their gradients follow from $G$ by the chain rule, entry by entry:

        $$\frac{d\,\mathrm{NLML}}{d\ell} = \sum_{ij} G_{ij}\,\frac{\partial K_{ij}}{\partial \ell},
        \qquad \frac{\partial K_{ij}}{\partial \ell} = \exp\!\Big(-\frac{(x_i - x_j)^2}{2\ell^2}\Big)\,\frac{(x_i - x_j)^2}{\ell^3}.$$

        The derivative of the kernel is NumPy; the expensive part, $G$, is the
        compiled program.  Against a central difference in $\ell$:
        """),
        code(r"""
        def kernel_derivative(lengthscale):
            return np.exp(-squared_distances / (2 * lengthscale**2)) * squared_distances / lengthscale**3

        def nlml_and_slope(lengthscale):
            value, G = gp(kernel(lengthscale), ys)
            return value, np.sum(G * kernel_derivative(lengthscale))

        ell0, h = 0.6, 1e-6
        value0, slope0 = nlml_and_slope(ell0)
        central = (gp(kernel(ell0 + h), ys)[0] - gp(kernel(ell0 - h), ys)[0]) / (2 * h)
        print(f'dNLML/dlengthscale at {ell0}: chain rule {slope0:.8f}, central difference {central:.8f}')
        assert np.isclose(slope0, central, rtol=1e-6)
        """),
        md(r"""
        With the value and the slope, an optimizer fits the lengthscale
        (`scipy.optimize.minimize` with `jac=True` takes both from one call):
        """),
        code(r"""
        from scipy.optimize import minimize

        fit = minimize(lambda p: nlml_and_slope(p[0]), x0=[ell0], jac=True,
                       method='L-BFGS-B', bounds=[(0.1, 5.0)])
        best = fit.x[0]
        print(f'lengthscale {best:.4f}, NLML {fit.fun:.4f}, slope there {fit.jac[0]:.1e}, '
              f'{fit.nfev} evaluations')
        assert fit.success and abs(fit.jac[0]) < 1e-3
        """),
        md(r"""
        The likelihood along the lengthscale, with the tangent the gradient gives
        at $\ell = 0.6$ and the fitted minimum:
        """),
        code(r"""
        import matplotlib.pyplot as plt

        grid = np.linspace(0.3, 2.5, 60)
        values = [gp(kernel(ell), ys)[0] for ell in grid]
        assert min(values) >= fit.fun - 1e-9          # the fit is at least as good as the grid

        fig, ax = plt.subplots(figsize=(6.5, 3.5))
        ax.plot(grid, values, label='NLML (compiled)')
        near = np.linspace(ell0 - 0.2, ell0 + 0.2, 2)
        ax.plot(near, value0 + slope0 * (near - ell0), 'C1--', label=f'tangent at {ell0} (chain rule)')
        ax.plot([ell0], [value0], 'C1o')
        ax.plot([best], [fit.fun], 'C2s', label=f'minimum, lengthscale {best:.2f}')
        ax.set_xlabel('lengthscale')
        ax.set_ylabel('negative log marginal likelihood')
        ax.legend()
        plt.show()
        """),
        md(r"""
        ## 4. The Cholesky factor as a differentiable value

        `LofCholesky(K)`, the lower Cholesky factor $L$ of $K = L L^T$, is an
        expression like any other, so it can appear inside the scalar being
        differentiated.  Any scalar function of $L$ looks, to first order, like
        $\mathrm{Trace}(\bar L^T L)$, with $\bar L$ its gradient with respect to
        $L$ (the *adjoint* the rest of a larger computation hands back).  The
        gradient of that with respect to $K$ is the **Cholesky backward pass**:
        """),
        code(r"""
        from computations.matrices import SymmetricLower

        Lbar = MatrixSymbol('Lbar', n, n)
        L = LofCholesky(K)
        backward = computations.grad(Trace(Lbar.T*L), K, [Q.positive_definite(K)])
        print(backward)
        assert backward == L.T.I * SymmetricLower(L.T*Lbar) * L.I / 2
        """),
        md(r"""
        `SymmetricLower(P)` (`sym_lower` when printed) is the symmetric matrix
        with `P`'s lower triangle: the gradient is symmetric, as $K$ is.  The
        compiler computes it with **one** `CHOLESKY_ADJOINT` call after the
        factorization (POTRF), and the value itself by an inner product:
        """),
        code(r"""
        chol = computations.function([K, Lbar], [Trace(Lbar.T*L), backward], [Q.positive_definite(K)],
                                     names=['value', 'gradient'], sizes={'n': N})
        print(chol.pseudocode())
        chol
        """),
        md(r"""
        Checked against central differences of NumPy's own Cholesky
        factorization, along a symmetric direction again:
        """),
        code(r"""
        M = rng.standard_normal((N, N))
        Kc = M @ M.T / N + np.eye(N)
        Lbar_v = rng.standard_normal((N, N))
        value, Gc = chol(Kc, Lbar_v)
        Lv = np.linalg.cholesky(Kc)
        assert np.isclose(value, np.sum(Lbar_v * Lv))
        assert np.array_equal(Gc, Gc.T)

        def phi(k):
            return np.sum(Lbar_v * np.linalg.cholesky(k))

        h = 1e-6
        central = (phi(Kc + h * D) - phi(Kc - h * D)) / (2 * h)
        print(f'sum(G*D) = {np.sum(Gc * D):.10f}, central difference = {central:.10f}')
        assert np.isclose(np.sum(Gc * D), central, rtol=1e-6)
        """),
        md(r"""
        ### Against the seed notebook's loop

        The notebook that started the project differentiated the Cholesky
        factorization with the loop algorithm of Smith (1995), in pure Python;
        `benchmarks/_harness.py` keeps it as `smith_loop(Lbar, L)`.  It returns
        the gradient with respect to the **lower triangle** of $K$, its entries
        taken as independent: an entry below the diagonal stands for both
        $K_{ij}$ and $K_{ji}$, so it is twice our symmetric `G` there, and equal
        to it on the diagonal.

        For a fair race both start from the factor: since the gradient is an
        ordinary expression, replacing `LofCholesky(K)` by a lower triangular
        symbol `Lsym` makes it a function of the factor, compiled to the
        `CHOLESKY_ADJOINT` call alone.  We pass it Fortran-ordered arrays
        (BLAS's layout), so that the call copies nothing.
        """),
        code(r"""
        import sys
        sys.path.insert(0, '../benchmarks')          # notebooks run in notebooks/
        from _harness import smith_loop

        Lsym = MatrixSymbol('L', n, n)
        from_factor = computations.function([Lsym, Lbar], [backward.xreplace({L: Lsym})],
                                            [Q.lower_triangular(Lsym)])
        print(from_factor.pseudocode())

        Lv, Lbar_v = np.asfortranarray(Lv), np.asfortranarray(Lbar_v)
        Gf, = from_factor(Lv, Lbar_v)
        loop = smith_loop(Lbar_v, Lv)
        print('max difference:', np.abs(loop - (np.tril(2 * Gf) - np.diag(np.diag(Gf)))).max())
        assert np.allclose(Gf, Gc, rtol=1e-12, atol=1e-12)
        assert np.allclose(loop, np.tril(2 * Gf) - np.diag(np.diag(Gf)), rtol=1e-12, atol=1e-12)
        """),
        md(r"""
        Timing both at $N = 200$ (the loop once: it takes a while; the compiled
        function as the best of several repetitions):
        """),
        code(r"""
        import time
        import timeit

        start = time.perf_counter()
        smith_loop(Lbar_v, Lv)
        loop_seconds = time.perf_counter() - start
        compiled_seconds = min(timeit.repeat(lambda: from_factor(Lv, Lbar_v), number=20, repeat=5)) / 20
        print(f'pure-Python loop  {loop_seconds * 1e3:9.2f} ms')
        print(f'CHOLESKY_ADJOINT  {compiled_seconds * 1e3:9.2f} ms')
        print(f'speed-up          {loop_seconds / compiled_seconds:9.0f}x')
        """),
        md(r"""
        (`./dev bench gradients` measures this more carefully, and the backward
        pass against the factorization at larger sizes.)

        ## 5. Gradients are ordinary expressions

        Nothing above needed a special path: a gradient is a SymPy matrix
        expression, so the compiler's property inference, its choice of
        routines, the inplace pass (notebook 03), the generated source, the
        profile and the memory prediction (notebook 02) all apply to it.  The
        GP's token program, for instance: after the copy of the caller's `K`,
        one n-by-n buffer holds the Cholesky factor, then the inverse, then the
        gradient, each routine overwriting the value no longer needed.
        """),
        code(r"""
        program = gp.specialize(Kv, ys).program
        print(program)
        tokens = {v.expr: v.token for node in program.toposort() for v in node.outputs}
        gradient_token = program.outputs[1].token
        print('buffers of the factor, the inverse, the gradient:',
              tokens[LofCholesky(K)], tokens[K.I], gradient_token)
        assert tokens[LofCholesky(K)] == tokens[K.I] == gradient_token
        """),
        md(r"""
        And the source that runs, one routine call per line (`overwrite_c=1`
        marks an overwrite the inplace pass proved safe, `del` frees a buffer
        after its last reader), with the arithmetic on scalars as one line of
        Python:
        """),
        code(r"""
        print(gp.specialize(Kv, ys).source)
        """),
    ]


# ---------------------------------------------------------------------------
# Building, executing, writing
# ---------------------------------------------------------------------------

def path_of(name):
    """The ``.ipynb`` file of notebook ``name``."""
    return HERE / f'{name}.ipynb'


def make(name):
    """Notebook ``name``, not executed: its cells, fixed cell ids and metadata."""
    cells = NOTEBOOKS[name]()
    for i, cell in enumerate(cells):
        cell['id'] = f'cell-{i:02d}'
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata = nbformat.from_dict({'kernelspec': dict(KERNELSPEC),
                                      'language_info': {'name': 'python'}})
    return nb


def execute(nb, cwd=HERE, timeout=TIMEOUT):
    """Run every cell of ``nb`` (in place) in a fresh kernel started in ``cwd``; return it.

    Raises :class:`nbclient.exceptions.CellExecutionError` on the first cell
    that fails.
    """
    client = NotebookClient(nb, timeout=timeout, kernel_name=KERNEL, record_timing=False,
                            coalesce_streams=True, resources={'metadata': {'path': str(cwd)}})
    client.execute(env={**os.environ, 'PYTHONHASHSEED': '0'})
    return tidy(nb)


def tidy(nb):
    """Drop volatile metadata (execution timings) from ``nb``; return it."""
    for cell in nb.cells:
        cell.metadata.pop('execution', None)
        if cell.cell_type == 'code':
            for output in cell.outputs:
                output.get('metadata', {}).pop('execution', None)
    return nb


def build(name):
    """Make, execute, validate and write notebook ``name``; return its path."""
    nb = execute(make(name))
    nbformat.validate(nb)
    path = path_of(name)
    nbformat.write(nb, path)
    return path


def resolve(spec):
    """The notebook name ``spec`` means: a name, a file name, or a unique part of a name."""
    spec = pathlib.Path(spec).name.removesuffix('.ipynb')
    if spec in NOTEBOOKS:
        return spec
    matches = [name for name in NOTEBOOKS if spec in name]
    if len(matches) != 1:
        raise SystemExit(f'build.py: {spec!r} names {"no" if not matches else "more than one"} '
                         f'notebook; choose from {", ".join(NOTEBOOKS)}')
    return matches[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('names', nargs='*', help='notebooks to build (default: all)')
    parser.add_argument('--list', action='store_true', help='list the notebooks and exit')
    options = parser.parse_args(argv)
    if options.list:
        print('\n'.join(NOTEBOOKS))
        return 0
    names = [resolve(spec) for spec in options.names] or list(NOTEBOOKS)
    for name in names:
        path = build(name)
        print(f'wrote {path.relative_to(HERE.parent)} ({path.stat().st_size / 1024:.0f} KiB)',
              flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
