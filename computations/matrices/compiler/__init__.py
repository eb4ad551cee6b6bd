"""The compiler: SymPy expressions to a program of operations.

:mod:`.canonical` puts expressions into one form, :mod:`.properties` infers
what is known of every subexpression, :mod:`.rules` proposes operations for
an expression, :mod:`.search` picks the cheapest program, and
:mod:`.driver` (``compile_expressions``) runs them; :mod:`.assumptions`
checks what the caller promised.
"""
