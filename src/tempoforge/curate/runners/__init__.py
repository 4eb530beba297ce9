"""Runners execute ``pipeline.process_video`` over many videos: local processes or Ray Data."""
