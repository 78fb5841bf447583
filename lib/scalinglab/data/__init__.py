"""Seeded, offline data for the chapters; nothing is downloaded. One module per data family:

- ``text`` — bytes of the running interpreter's Python standard library, as a Hugging Face
  ``datasets.Dataset`` pinned by its SHA-256 (chapter 00);
- ``arithmetic`` — tokenised arithmetic problems with held-out test sets (chapter 01);
- ``memo_trap`` — a synthetic corpus of memorised quotes and instructions (chapter 02);
- ``mnist1d`` — MNIST-1D generated procedurally with the ``mnist1d`` package (chapter 03);
- ``facts`` — random facts (individuals × attributes) with a known information content (chapter 06).
"""

from .text import ByteCorpus, fixed_windows, python_stdlib_corpus, random_windows, stdlib_files_dataset

__all__ = ["ByteCorpus", "fixed_windows", "python_stdlib_corpus", "random_windows", "stdlib_files_dataset"]
