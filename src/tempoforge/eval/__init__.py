"""Evaluation: answer parsing, metrics under each benchmark's official convention, loaders, scoring, reports.

``parsing`` holds our own span parser; ``parsers_official`` the official scorers' parsers, by name;
``metrics/`` one module per benchmark family, every metric a pure function.
"""
