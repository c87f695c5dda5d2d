"""Readers for the report corpora of the ECHO training stages and the corpus builder.

Each reader takes a local path that a site points at its own copy of the data set; nothing is
downloaded or shipped. Every reader yields `StudyRecord`s.
"""

from training.corpora.records import StudyRecord

__all__ = ["StudyRecord"]
