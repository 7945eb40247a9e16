"""Sourced LAUSD board-race data and models of outside spending vs vote share."""

import os


def _exact_numba_math() -> None:
    """Compile PyTensor's numba code without fast-math, before PyTensor is imported anywhere in the process.

    With fast-math, LLVM may reassociate sums differently when a function is compiled fresh (inlined into one
    module) than when it is loaded from the disk cache: the same graph then gave gradients that differed in the
    last bit in 5 of 244 components, and the same seed gave other draws (and once an R-hat on the other side of
    the gate) on a cold compile cache than on a warm one. Without it cold and warm are bit-identical; the gradient
    costs about 10 % more. A user's own numba__fastmath setting wins."""
    flags = os.environ.get("PYTENSOR_FLAGS", "")
    if "numba__fastmath" not in flags:
        os.environ["PYTENSOR_FLAGS"] = ",".join(f for f in (flags, "numba__fastmath=False") if f)


_exact_numba_math()

__version__ = "0.1.0"
