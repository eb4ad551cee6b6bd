"""Watching a batch's chunks on threads (``stacked._on_threads``) in the tests."""


def watch_chunk_threads(monkeypatch):
    """``(ran, inside)``: lists filled as batches run their chunks on threads -- the number
    of threads of each such run, and the BLAS threads in force as each chunk starts."""
    from computations.schedulers import stacked
    from computations.schedulers.blas_threads import blas_threads
    ran, inside = [], []
    original = stacked._on_threads

    def spy(run_chunk, spans, threads, buffers):
        ran.append(threads)

        def recording(*args):
            inside.append(blas_threads())
            return run_chunk(*args)
        return original(recording, spans, threads, buffers)
    monkeypatch.setattr(stacked, '_on_threads', spy)
    return ran, inside
