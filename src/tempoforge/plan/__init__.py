"""``tempoforge plan``: will a real preset fit, before launching it?

- ``shapes.py``   parameter counts and widths of an architecture (meta device), LM tokens of a video
- ``estimate.py`` memory per GPU: weights, gradients, optimizer states, activations, logits, per backend
- ``presets.py``  a training preset -> its model and one workload per stage
- ``measure.py``  one real training step per stage at reduced depth (CPU, or GPU when there is one), peak
                  memory measured; the integration tests run the real presets through it
- ``commands.py`` the CLI
"""
