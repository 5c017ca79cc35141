"""Shared pytest set-up: the installed toolchain first on PATH, tool variables set."""

from spikefab.toolchain import setup_environ

setup_environ()
