"""Read pickled data files without running code: a restricted unpickler.

`pickle.load` calls whatever a file names (os.system, eval, ...). Data sets such as RHD ship
their annotations as pickles, so hopgen parses them with an unpickler whose `find_class` allows
only plain containers and numpy arrays/scalars; anything else is a SafePickleError naming the file
and the global it asked for. Pure module: numpy + standard library only.
"""

import io
import pickle

# (module, name) globals a data pickle may reference. numpy arrays pickle through
# numpy.core.multiarray._reconstruct + numpy.ndarray + numpy.dtype (numpy >= 2: numpy._core.*).
ALLOWED_GLOBALS = {
    ("builtins", name) for name in ("dict", "list", "tuple", "set", "frozenset", "str", "bytes",
                                    "bytearray", "int", "float", "complex", "bool", "slice", "range")
} | {
    ("collections", "OrderedDict"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),  # protocol-2 pickles (Python 2 era, e.g. RHD) store array bytes through it
}


class SafePickleError(ValueError):
    """A pickle that asks for something other than plain data, or that does not parse."""


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, where, **kwargs):
        super().__init__(file, **kwargs)
        self.where = where

    def find_class(self, module, name):
        if (module, name) in ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise SafePickleError(f"{self.where}: refuses to load {module}.{name} (a data pickle may hold only "
                              "plain containers, numbers, strings and numpy arrays)")


def load(file, where=None, encoding="latin1"):
    """Unpickle plain data from a binary file object. `encoding` is used for Python 2 str
    (latin1 keeps numpy array bytes intact)."""
    where = where or getattr(file, "name", "pickle")
    try:
        return _RestrictedUnpickler(file, where, encoding=encoding).load()
    except SafePickleError:
        raise
    except Exception as e:  # truncated or corrupt: UnpicklingError, EOFError, ValueError, ...
        raise SafePickleError(f"{where}: not a readable pickle ({type(e).__name__}: {e})") from None


def load_file(path, encoding="latin1"):
    """Unpickle plain data from the file at `path` (SafePickleError names it)."""
    with open(path, "rb") as f:
        return load(f, where=str(path), encoding=encoding)


def loads(data, where="pickle", encoding="latin1"):
    return load(io.BytesIO(data), where=where, encoding=encoding)
