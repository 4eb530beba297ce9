"""Evaluation: answer parsing, metrics under each benchmark's official convention, loaders, scoring, reports.

``benchmarks`` is the table of benchmarks (names, prompt task, loader, scorer, conventions) that predict,
``eval score``, ``eval report`` and the studies read; ``parsing`` holds our own span parser;
``parsers_official`` the official scorers' parsers, by name; ``metrics/`` one module per benchmark family,
every metric a pure function.
"""
