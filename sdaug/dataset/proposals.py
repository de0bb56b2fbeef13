"""Detector proposals in a project: boxes with origin ``auto`` that are not labels until a person
accepts them (mixed into :class:`sdaug.dataset.store.Project`).

- :meth:`ProposalStore.add_proposals` replaces an image's proposals (so running the detector
  again never duplicates them), records its uncertainty and, with ``job_item_id``, marks that
  work item done, all in one transaction; an unlabelled image with proposals becomes ``review``.
- :meth:`ProposalStore.accept_proposals` turns proposals into labels (origin ``manual``, score and
  detector kept as lineage); when none is left, a ``review`` image becomes ``labelled``.
- :meth:`ProposalStore.reject_proposals` deletes proposals; when none is left, a ``review`` image
  becomes ``labelled`` (it has a person's boxes) or ``unlabelled`` again.
- :meth:`ProposalStore.labelling_order`: images without a person's labels, least sure first
  (the detector's uncertainty, see :mod:`sdaug.engine.detect`).

Exports leave every box of origin ``auto`` out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from sdaug.dataset.records import Box, clamp_box
from sdaug.errors import InputError

# Images a person has not finished: where proposals help and where "next to label" looks.
OPEN_STATUSES = ("unlabelled", "review")


class ProposalStore:
    """Proposals of a project (uses the project's ``_write``, ``read``, ``_image_row``, ``_insert_boxes``)."""

    def add_proposals(self, image_id: int, boxes: Iterable[Box], *, detector: str, uncertainty: float,
                      job_item_id: int | None = None) -> list[Box]:
        """Store ``boxes`` as the image's proposals (see the module docstring)."""
        if not detector:
            raise ValueError("proposals need the name of the detector that made them")
        with self._write() as conn:
            image = self._image_row(conn, image_id)
            proposals = [replace(clamp_box(box, image["width"], image["height"]), origin="auto", detector=detector,
                                 needs_review=True) for box in boxes]
            conn.execute("DELETE FROM boxes WHERE image_id = ? AND origin = 'auto'", (image_id,))
            stored = self._insert_boxes(conn, image_id, proposals)
            conn.execute("UPDATE images SET uncertainty = ? WHERE id = ?", (float(uncertainty), image_id))
            if proposals and image["status"] == "unlabelled":
                conn.execute("UPDATE images SET status = 'review' WHERE id = ?", (image_id,))
            if job_item_id is not None:
                done = conn.execute("UPDATE job_items SET state = 'done', image_id = ?, error = NULL "
                                    "WHERE id = ? AND state != 'done'", (image_id, job_item_id)).rowcount
                if not done:
                    raise InputError("job.item_done", id=job_item_id)

        return stored

    def accept_proposals(self, image_id: int, box_ids: Sequence[int] | None = None) -> int:
        """Make the image's proposals (or those of ``box_ids``) labels; returns how many."""
        return self._settle_proposals(image_id, box_ids, "UPDATE boxes SET origin = 'manual', needs_review = 0")

    def reject_proposals(self, image_id: int, box_ids: Sequence[int] | None = None) -> int:
        """Delete the image's proposals (or those of ``box_ids``); returns how many."""
        return self._settle_proposals(image_id, box_ids, "DELETE FROM boxes")

    def _settle_proposals(self, image_id: int, box_ids: Sequence[int] | None, statement: str) -> int:
        """Run ``statement`` (an UPDATE or DELETE of boxes) on the image's proposals (or those of
        ``box_ids``). When none is left, a ``review`` image becomes ``labelled`` (it has boxes) or
        ``unlabelled``."""
        with self._write() as conn:
            image = self._image_row(conn, image_id)
            query = f"{statement} WHERE image_id = ? AND origin = 'auto'"
            params: list[int] = [image_id]
            if box_ids is not None:
                query += f" AND id IN ({', '.join('?' * len(box_ids))})"
                params += list(box_ids)
            changed = conn.execute(query, params).rowcount
            boxes, proposals = conn.execute("SELECT COUNT(*), COALESCE(SUM(origin = 'auto'), 0) FROM boxes "
                                            "WHERE image_id = ?", (image_id,)).fetchone()
            if changed and not proposals and image["status"] == "review":
                conn.execute("UPDATE images SET status = ? WHERE id = ?",
                             ("labelled" if boxes else "unlabelled", image_id))
        return changed

    def proposal_count(self, image_id: int) -> int:
        return self.read("SELECT COUNT(*) FROM boxes WHERE image_id = ? AND origin = 'auto'", (image_id,))[0][0]

    def labelling_order(self, limit: int = 50) -> list[tuple[int, float | None]]:
        """(image id, uncertainty) of source images a person has not finished, least sure first;
        images the detector has not seen come last, in id order."""
        rows = self.read(
            f"SELECT id, uncertainty FROM images WHERE source_image_id IS NULL AND status IN "
            f"({', '.join('?' * len(OPEN_STATUSES))}) "
            "ORDER BY uncertainty IS NULL, uncertainty DESC, id LIMIT ?", (*OPEN_STATUSES, limit))
        return [(row[0], row[1]) for row in rows]
