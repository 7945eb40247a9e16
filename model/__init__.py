"""Sourced LAUSD board-race data and models of outside spending vs vote share."""

__version__ = "0.1.0"
