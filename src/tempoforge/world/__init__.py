"""TempoWorld: procedurally generated videos with exact temporal ground truth.

Every video is rendered from a script (``script.sample_script``), so the start and end of every event,
shot, transition and static stretch is known exactly. Python API::

    from tempoforge.world import generate_world, load_world, preset_config
    world = generate_world("out/tw", videos=100, seed=0, config=preset_config("tiny"))
    world = load_world("out/tw")            # config, seed and the script of every video
    world.script("tw00003").events          # WorldEvent: span, caption, subject, action, params
    show_video(world.script("tw00003"), world.video_path("tw00003"), "tw00003.png")

Modules: ``config`` (WorldConfig, presets), ``vocab`` (colours, shapes), ``scene`` (the script data and
exact object state at any time), ``script`` (sampling), ``captions`` (grammar), ``render`` (numpy
rasteriser + encoder), ``questions`` (grounding / refusal / multiple-choice queries), ``exports``
(official benchmark formats), ``generate`` (folder layout, resume, process pool), ``show`` (timeline
picture), ``commands`` (CLI).
"""

from typing import TYPE_CHECKING

from tempoforge.lazy import lazy_exports

if TYPE_CHECKING:
    from tempoforge.world.config import PRESETS, WorldConfig, preset_config
    from tempoforge.world.generate import World, generate_world, load_world
    from tempoforge.world.render import render_frame, render_frames, render_video
    from tempoforge.world.scene import VideoScript, WorldEvent, object_state
    from tempoforge.world.script import sample_script, video_id
    from tempoforge.world.show import show_video

# each public name -> the module that defines it, imported on first use
# (so `tempoforge.world.commands` imports no numpy)
_EXPORTS = {
    "PRESETS": "config",
    "WorldConfig": "config",
    "preset_config": "config",
    "World": "generate",
    "generate_world": "generate",
    "load_world": "generate",
    "render_frame": "render",
    "render_frames": "render",
    "render_video": "render",
    "VideoScript": "scene",
    "WorldEvent": "scene",
    "object_state": "scene",
    "sample_script": "script",
    "video_id": "script",
    "show_video": "show",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "PRESETS",
    "VideoScript",
    "World",
    "WorldConfig",
    "WorldEvent",
    "generate_world",
    "load_world",
    "object_state",
    "preset_config",
    "render_frame",
    "render_frames",
    "render_video",
    "sample_script",
    "show_video",
    "video_id",
]
