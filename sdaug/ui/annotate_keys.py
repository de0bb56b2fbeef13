"""Keyboard shortcuts for a tab: a small ``gr.HTML`` that shows the key list and listens to keys.

Its ``js_on_load`` adds one ``keydown`` listener on the document (capture phase, so the canvas
of ``image_annotator`` does not swallow keys such as ``d`` first). A key counts only while the
tab that holds the element is visible and the focus is not in a text field, and only when it is
one of the keys the tab asked for; then the listener sends ``click`` with ``{"key": ...}`` to
Python. ``Ctrl/⌘+Z`` arrives as ``"undo"``, ``Ctrl/⌘+Y`` and ``Ctrl/⌘+Shift+Z`` as ``"redo"``.
"""

from __future__ import annotations

from collections.abc import Sequence

import gradio as gr
from gradio.i18n import I18nData

_JS = """
const keys = new Set(props.keys);
const typing = (t) => t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
const onKey = (e) => {
  if (!element.isConnected) { document.removeEventListener('keydown', onKey, true); return; }
  if (element.offsetParent === null || typing(e.target) || e.altKey || e.repeat) return;
  let key = e.key.toLowerCase();
  if (e.ctrlKey || e.metaKey) {
    if (key === 'z') key = e.shiftKey ? 'redo' : 'undo';
    else if (key === 'y') key = 'redo';
    else return;
  }
  if (!keys.has(key)) return;
  e.preventDefault();
  e.stopPropagation();
  trigger('click', {key: key});
};
if (element.sdaugKeys) document.removeEventListener('keydown', element.sdaugKeys, true);
element.sdaugKeys = onKey;
document.addEventListener('keydown', onKey, true);
"""


def key_listener(hint: I18nData | str, keys: Sequence[str], elem_id: str) -> gr.HTML:
    """The hint line (e.g. "A / D previous / next …") that also listens to ``keys``.

    Wire it with ``listener.click(fn, ...)`` where ``fn`` takes ``evt: gr.EventData`` and reads
    ``evt.key`` (a lower-case ``KeyboardEvent.key``, or ``"undo"`` / ``"redo"``).
    """
    return gr.HTML(value=hint, html_template="<div class='sdaug-keys'>${value}</div>",
                   css_template=".sdaug-keys { font-size: 0.85em; opacity: 0.75; }",
                   js_on_load=_JS, keys=list(keys), elem_id=elem_id)


def event_key(evt: gr.EventData) -> str:
    """The key a :func:`key_listener` event carries ("" when missing)."""
    data = evt._data if isinstance(evt._data, dict) else {}
    return str(data.get("key", ""))
