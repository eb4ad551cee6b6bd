"""What the compilations of one function at many shapes share: its shape-independent work.

A compiled function (:class:`~computations.front_door.Function`) is
compiled again for every new binding of its dimensions, and most of that
work does not depend on the sizes: the operations the rules propose are
built on symbolic shapes, their FLOP counts are expressions of the
dimensions, and most property answers never look at a size.  A
:class:`Memo`, owned by the function, keeps these results; it is used
only while it is :func:`sharing` (a context variable, so a thread or a
compilation that does not share sees no memo and computes everything).

What it keeps, each table keyed by values (never by identity):

- ``ops``: operations interned by their constructor's arguments
  (:class:`~computations.matrices.ops.core.MatrixComputation` consults it):
  operations are immutable values, so one built earlier with equal
  arguments *is* the one asked for;
- ``flops``: each operation's FLOP count, the SymPy expression of its
  shapes (the sizes are bound by :class:`~computations.sizes.Binding`);
- ``transposes``: the transposes operations take of their arguments
  (:func:`~computations.matrices.ops.algebra.transpose_if`);
- ``answers``: property answers, canonical forms and transposes
  (:mod:`~computations.matrices.compiler.properties`), each with the size readings
  it depends on;
- ``products``: the sub-products the search names
  (:func:`~computations.matrices.compiler.canonical.product`), and the
  products and sums operations compute (:func:`~computations.matrices.ops.algebra.multiply`,
  :func:`~computations.matrices.ops.algebra.add`, with their simplified arguments);
- ``keys``: the search's keys of expressions (written out by ``srepr``);
- ``canonical``: the expressions SymPy made canonical here (a product built of them
  without SymPy is canonical too: :func:`~computations.matrices.ops.algebra.plain_product`).

Correctness never depends on it: without a memo (or after :meth:`Memo.clear`)
the same programs come out.  It is bounded: a table that reaches
:attr:`Memo.limit` entries is emptied, and the memo lives as long as its
function.

>>> memo = Memo()
>>> with sharing(memo):
...     active() is memo
True
>>> active() is None
True
>>> memo.lookup('ops', 'key', lambda: 42), memo.lookup('ops', 'key', lambda: 0)
(42, 42)
"""
import contextlib
import contextvars

__all__ = ['Memo', 'sharing', 'active', 'TABLES']

#: The tables a memo holds (see the module).
TABLES = ('ops', 'flops', 'transposes', 'answers', 'products', 'keys', 'canonical')

_ACTIVE = contextvars.ContextVar('computations_memo', default=None)


class Memo:
    """Tables of shape-independent results, each emptied when it reaches ``limit`` entries.

    >>> memo = Memo(limit=2)
    >>> for key in 'abc':
    ...     _ = memo.lookup('answers', key, lambda: key.upper())
    >>> sorted(memo.tables['answers'])                    # emptied at 'c', then kept 'c'
    ['c']
    """

    def __init__(self, limit=20_000):
        self.limit = limit
        self.tables = {name: {} for name in TABLES}

    def __repr__(self):
        sizes = ', '.join(f'{name}: {len(table)}' for name, table in self.tables.items())
        return f'Memo({sizes})'

    def lookup(self, table, key, make):
        """The value kept under ``key`` in ``table``, made (``make()``) and kept if absent."""
        entries = self.tables[table]
        try:
            return entries[key]
        except KeyError:
            pass
        value = make()
        self.store(table, key, value)
        return value

    def get(self, table, key, default=None):
        """The value kept under ``key`` in ``table``, else ``default``."""
        return self.tables[table].get(key, default)

    def store(self, table, key, value):
        """Keep ``value`` under ``key`` (the table is emptied first if it is full)."""
        entries = self.tables[table]
        if len(entries) >= self.limit:
            entries.clear()
        entries[key] = value

    def canonical(self, expr):
        """``expr``, which is in SymPy's canonical form (its ``doit`` is itself), marked so;
        the first expression equal to it that was marked (one instance per value: a
        dictionary lookup of the same instance skips SymPy's structural ``==``).

        >>> import sympy
        >>> memo, A = Memo(), sympy.MatrixSymbol('A', 2, 2)
        >>> memo.is_canonical(A.I), memo.canonical(A.I) is memo.canonical(A.I), memo.is_canonical(A.I)
        (False, True, True)
        """
        entries = self.tables['canonical']
        found = entries.get(expr)
        if found is None:
            self.store('canonical', expr, expr)
            return expr
        return found

    def is_canonical(self, expr):
        """Whether ``expr`` was marked canonical (:meth:`canonical`)."""
        return expr in self.tables['canonical']

    def clear(self):
        """Forget everything (the next compilations compute it again)."""
        for entries in self.tables.values():
            entries.clear()


@contextlib.contextmanager
def sharing(memo):
    """A context in which ``memo`` is the :func:`active` memo (``None``: none is)."""
    token = _ACTIVE.set(memo)
    try:
        yield memo
    finally:
        _ACTIVE.reset(token)


def active():
    """The memo of the current context, or None."""
    return _ACTIVE.get()
