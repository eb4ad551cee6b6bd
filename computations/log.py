"""The library's logger: ``logging.getLogger('computations')`` and its children.

The library logs and never configures logging: the ``computations`` logger
has a :class:`logging.NullHandler` and no other handler, and what it
records goes wherever the application sends it.  The compiler
(``computations.compiler``) records its decisions at DEBUG: the chosen
program, its FLOPs and the compile time.  To see them::

    import logging
    logging.basicConfig()
    logging.getLogger('computations').setLevel(logging.DEBUG)

>>> get_logger('compiler').name
'computations.compiler'
>>> get_logger('compiler').parent is logger
True
"""
import logging

__all__ = ['logger', 'get_logger']

#: The library's root logger.
logger = logging.getLogger('computations')
if not any(isinstance(handler, logging.NullHandler) for handler in logger.handlers):
    logger.addHandler(logging.NullHandler())


def get_logger(name):
    """The child ``computations.NAME`` of the library's logger.

    >>> get_logger('cli').name
    'computations.cli'
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f'get_logger: name must be a non-empty string, got {name!r}')
    return logger.getChild(name)
