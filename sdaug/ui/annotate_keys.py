"""Keyboard shortcuts for a tab: a small ``gr.HTML`` that shows the key list and listens to keys.

Its ``js_on_load`` adds one ``keydown`` listener on the document (capture phase, so the canvas
of ``image_annotator`` does not swallow keys such as ``d`` first). A key counts only while the
tab that holds the element is visible and the focus is not in a text field, and only when it is
one of the keys the tab asked for; then the listener sends ``click`` with ``{"key": ...}`` to
Python. ``Ctrl/⌘+Z`` arrives as ``"undo"``, ``Ctrl/⌘+Y`` and ``Ctrl/⌘+Shift+Z`` as ``"redo"``.

With ``canvas`` (the ``elem_id`` of an ``image_annotator``) the listener also drives that canvas
the way CVAT and X-AnyLabeling do; the component has no API for this, so the script below is our
own and is tied to gradio_image_annotation 0.5's DOM (its "Create box" / "Drag boxes" buttons,
its Space key for "fit" and its wheel zoom):

- a press on a box selects (and moves or resizes) it, a press elsewhere draws a new box, and
  holding Space pans: the script picks the component's tool on each press, so it never sticks
  in the hand tool;
- which box is selected is read from the canvas's own drawing (the selected box is stroked
  thicker); a box selected by a click goes to Python with the key (``box``: x1, y1, x2, y2 in
  original pixels) so that 1-9 and Delete act on it, while a box just drawn does not count;
- a proposal (its text ends in ``?``, see ``annotate_core.canvas_label``) is outlined dashed;
- ``window.sdaugCanvas.fit()`` and ``.actual()`` show the whole image or one image pixel per
  screen pixel (buttons call them; F fits too); ``.held()`` says whether the mouse button that
  went down on the canvas is still down (a box is being drawn, moved or resized), ``.presses()``
  counts the presses on the canvas, ``.released()`` resolves once the button is up and
  ``.selecting()`` says whether a box the user clicked is selected.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import gradio as gr
from gradio.i18n import I18nData

from sdaug.ui.annotate_core import PROPOSAL_MARK

SELECTED_WIDTH = 4  # pass as ``box_selected_thickness`` to the image_annotator the listener drives
BOX_WIDTH = 2

_JS = f"const SELECTED_WIDTH = {SELECTED_WIDTH}, PROPOSAL_MARK = {json.dumps(PROPOSAL_MARK)};\n" + """
const keys = new Set(props.keys);
const canvasRoot = () => props.canvas ? document.getElementById(props.canvas) : null;
let panning = false, clickedBox = false, held = false, presses = 0, waiting = [];
const hook = (canvas) => {
  // Record each drawing pass: where the image went and each box's rectangle and line width.
  if (!canvas || canvas.sdaugHooked) return;
  canvas.sdaugHooked = true;
  const g = canvas.getContext('2d');
  const clear = g.clearRect, rect = g.rect, stroke = g.stroke, drawImage = g.drawImage, fillText = g.fillText;
  let pass = null, last = null;
  g.clearRect = function (...a) { pass = {boxes: [], image: null}; canvas.sdaugPass = pass; return clear.apply(this, a); };
  g.drawImage = function (img, x, y, w, h) {
    const t = this.getTransform();
    if (pass && w) pass.image = {x: t.e + t.a * x, y: t.f + t.d * y, w: t.a * w, h: t.d * h, scale: t.a, natural: img.naturalWidth, drawn: w};
    return drawImage.apply(this, arguments);
  };
  g.rect = function (...a) { last = a; return rect.apply(this, a); };
  g.stroke = function (...a) { if (pass && last) pass.boxes.push({r: last, width: this.lineWidth}); last = null; return stroke.apply(this, a); };
  g.fillText = function (text, ...a) {  // a proposal's text ends in '?': dash the outline of its box
    const box = pass && pass.boxes[pass.boxes.length - 1];
    const result = fillText.call(this, text, ...a);
    if (box && String(text).endsWith(PROPOSAL_MARK)) {
      this.save(); this.setLineDash([6, 5]); this.strokeStyle = 'white'; this.lineWidth = box.width;
      this.strokeRect(...box.r); this.restore();
    }
    return result;
  };
  // Draw once more, now recorded (and proposals dashed): a wheel turn of zero redraws the same view.
  const redraw = () => canvas.dispatchEvent(new WheelEvent('wheel', {deltaY: 0, bubbles: true, cancelable: true}));
  setTimeout(redraw, 0);
  setTimeout(redraw, 500);
};
const canvasEl = () => { const root = canvasRoot(); const c = root && root.querySelector('canvas'); hook(c); return c; };
const tool = (name) => {  // 'Create box' or 'Drag boxes'
  const root = canvasRoot(); const b = root && root.querySelector(`button[aria-label="${name}"]`);
  if (b && !b.classList.contains('selected')) b.click();
};
const toCanvas = (c, e) => { const r = c.getBoundingClientRect(); return [(e.clientX - r.left) * c.width / r.width, (e.clientY - r.top) * c.height / r.height]; };
const selectedBox = () => {  // the box selected by a click, in original image pixels
  const c = canvasEl(), p = c && c.sdaugPass;
  if (!clickedBox || !p || !p.image) return null;
  const selected = p.boxes.filter(b => b.width === SELECTED_WIDTH);
  if (selected.length !== 1) return null;
  const [x, y, w, h] = selected[0].r, k = p.image.natural / p.image.w;
  return [(x - p.image.x) * k, (y - p.image.y) * k, (x + w - p.image.x) * k, (y + h - p.image.y) * k];
};
const onPointer = (e) => {  // choose the component's tool before it sees the press
  const c = canvasEl();
  if (!c || e.target !== c || e.button !== 0) return;
  held = true;
  presses += 1;
  const [x, y] = toCanvas(c, e), p = c.sdaugPass, m = 6;
  const hit = !!p && p.boxes.some(({r}) => x >= r[0] - m && x <= r[0] + r[2] + m && y >= r[1] - m && y <= r[1] + r[3] + m);
  clickedBox = hit && !panning;
  tool(panning || hit ? 'Drag boxes' : 'Create box');
};
const onRelease = () => { held = false; for (const resolve of waiting.splice(0)) resolve(); };
const onKeyUp = (e) => {
  if (e.key !== ' ' || !panning) return;
  panning = false;
  tool('Create box');
  const c = canvasEl();
  if (c) c.style.cursor = '';
};
// Keys are text only in a field that takes text (a radio button or checkbox that has the focus
// after a click does not).
const typing = (t) => t && (t.isContentEditable || /^(TEXTAREA|SELECT)$/.test(t.tagName) ||
  (t.tagName === 'INPUT' && !/^(radio|checkbox|button|range|color|file)$/.test(t.type)));
const send = (key) => trigger('click', props.canvas ? {key: key, box: selectedBox()} : {key: key});
const onKey = (e) => {
  if (!element.isConnected || !e.isTrusted || element.offsetParent === null || typing(e.target) || e.altKey) return;
  let key = e.key.toLowerCase();
  if (props.canvas && key === ' ') {  // hold Space to pan
    e.preventDefault(); e.stopPropagation();
    if (!panning) { panning = true; tool('Drag boxes'); const c = canvasEl(); if (c) c.style.cursor = 'grab'; }
    return;
  }
  if (e.repeat) return;
  if (props.canvas && key === 'f' && !(e.ctrlKey || e.metaKey)) { e.preventDefault(); e.stopPropagation(); canvas.fit(); return; }
  if (e.ctrlKey || e.metaKey) {
    if (key === 'z') key = e.shiftKey ? 'redo' : 'undo';
    else if (key === 'y') key = 'redo';
    else return;
  }
  if (!keys.has(key)) return;
  e.preventDefault();
  e.stopPropagation();
  send(key);
};
const canvas = {
  fit: () => {  // the component's own Space key
    const root = canvasRoot(), box = root && root.querySelector('.annotator-container');
    if (box) box.dispatchEvent(new KeyboardEvent('keydown', {key: ' ', bubbles: true}));
  },
  actual: () => {  // fit, then the component's wheel zoom up to one image pixel per canvas pixel
    canvas.fit();
    const c = canvasEl(), p = c && c.sdaugPass;
    if (!p || !p.image) return;
    const target = p.image.natural / p.image.drawn, scale = p.image.scale;
    if (target <= scale) return;
    const r = c.getBoundingClientRect();
    c.dispatchEvent(new WheelEvent('wheel', {deltaY: 2000 * (scale / target - 1), clientX: r.left + r.width / 2,
                                              clientY: r.top + r.height / 2, bubbles: true, cancelable: true}));
  },
  press: (key) => send(key),
  held: () => held,  // the mouse button went down on the canvas and is still down (a drag)
  presses: () => presses,  // how many times the mouse button went down on the canvas
  released: () => held ? new Promise((resolve) => waiting.push(resolve)) : Promise.resolve(),
  selecting: () => selectedBox() !== null,  // a box the user clicked is selected
};
for (const [type, fn] of element.sdaugListeners || []) document.removeEventListener(type, fn, true);
element.sdaugListeners = [['keydown', onKey], ...(props.canvas ? [['pointerdown', onPointer], ['pointerup', onRelease],
  ['pointercancel', onRelease], ['keyup', onKeyUp]] : [])];
for (const [type, fn] of element.sdaugListeners) document.addEventListener(type, fn, true);
if (props.canvas) window.sdaugCanvas = canvas;
// Hook the canvas as soon as it exists (and again when the component replaces it).
clearInterval(element.sdaugHookTimer);
if (props.canvas) element.sdaugHookTimer = setInterval(canvasEl, 400);
"""


def key_listener(hint: I18nData | str, keys: Sequence[str], elem_id: str, canvas: str = "") -> gr.HTML:
    """The hint line (e.g. "A / D previous / next …") that also listens to ``keys``.

    Wire it with ``listener.click(fn, ...)`` where ``fn`` takes ``evt: gr.EventData`` and reads
    ``evt.key`` (a lower-case ``KeyboardEvent.key``, or ``"undo"`` / ``"redo"``) and, with
    ``canvas``, the box selected by a click on it (:func:`event_box`).
    """
    return gr.HTML(value=hint, html_template="<div class='sdaug-keys'>${value}</div>",
                   css_template=".sdaug-keys { font-size: 0.85em; opacity: 0.75; }",
                   js_on_load=_JS, keys=list(keys), canvas=canvas, elem_id=elem_id)


def event_key(evt: gr.EventData) -> str:
    """The key a :func:`key_listener` event carries ("" when missing)."""
    data = evt._data if isinstance(evt._data, dict) else {}
    return str(data.get("key", ""))


def event_box(evt: gr.EventData) -> list[float] | None:
    """The box selected by a click on the canvas that a :func:`key_listener` event carries."""
    data = evt._data if isinstance(evt._data, dict) else {}
    box = data.get("box")
    if not isinstance(box, list) or len(box) != 4:
        return None
    try:
        return [float(v) for v in box]
    except (TypeError, ValueError):
        return None  # not from our script: treated as no selection
