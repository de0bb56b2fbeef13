"""How the annotator's canvas and the server stay in step (wired in :mod:`sdaug.ui.annotate`).

The server never sets the canvas's picture and boxes
directly: every handler sends them as a ``push`` (a hidden JSON component) with a version number
that grows with each push of the session, and :data:`PUSH_JS` applies a push only when it is newer
than the last one applied (replies overtaking each other never bring back an old state). A reply
to a canvas change is also held until the mouse button is up, and dropped when the user pressed on
the canvas since that change was sent (a box drawn since then would be wiped out) or has a box
selected by a click (a new value ends the selection that keys act on); the next change gets the
server's view again. :data:`CHANGE_JS` marks a change sent while the mouse button is still down as
``drawing`` (the component reports a box as soon as it is started, and gradio may send a change
that waited for the previous reply in the middle of the next drag): it is not saved, the change at
mouse-up follows.
"""

from __future__ import annotations

from gradio import processing_utils
from gradio_image_annotation import image_annotator

from sdaug.ui.annotate_core import AnnotateState

CHANGE_JS = """
(state, payload, meta) => {
  const canvas = window.sdaugCanvas;
  return [state, payload, {drawing: !!canvas && canvas.held(), presses: canvas ? canvas.presses() : 0}];
}
"""
PUSH_JS = """
async (push) => {
  const keep = {__type__: 'update'}, canvas = window.sdaugCanvas;
  if (!push) return keep;
  if (canvas && push.presses !== undefined) {
    await canvas.released();
    if (canvas.presses() !== push.presses || canvas.selecting()) return keep;
  }
  if (push.version <= (window.sdaugCanvasVersion || 0)) return keep;
  window.sdaugCanvasVersion = push.version;
  return push.value;
}
"""


def push(canvas: image_annotator, state: AnnotateState, value: dict | None) -> dict:
    """A canvas value to send as a push (see :data:`PUSH_JS`): what gradio does to a value sent to
    the canvas directly (its postprocessing, its image copied to gradio's cache with the address the
    browser loads it from), numbered after every push before it in this session."""
    state.canvas_version += 1
    sent = processing_utils.move_files_to_cache(canvas.postprocess(value), canvas, postprocess=True) if value else None
    return {"value": sent, "version": state.canvas_version}
