"""Metrics, one module per family; IoU lives only in :mod:`tempoforge.eval.metrics.iou`."""
