"""The recognizer: RapidOCR (PP-OCR detection and recognition models shipped in its wheel) on onnxruntime.

Nothing is downloaded: ``rapidocr`` 3.x carries its models, and the engine is made once per reader process
(the worker pool's processes each hold one). It runs on one thread: the pool already gives each core a
worker, and more threads per worker would only fight over the same cores. The text-orientation classifier
is off (pages are turned straight before, and a report's text is never upside down within a line).

Every word comes back with the recognizer's own score (0 … 1): a number cell's confidence is the lowest
score of its words.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

_ENGINE = None
_LOCK = threading.Lock()
PARAMS = {
    "Global.use_cls": False,
    "Global.log_level": "error",
    "Global.text_score": 0.05,  # keep doubtful text: a low score makes a cell unsure, never silently blank
    "Global.return_word_box": True,
    "Global.max_side_len": 2600,
    "EngineConfig.onnxruntime.intra_op_num_threads": 1,
    "EngineConfig.onnxruntime.inter_op_num_threads": 1,
}


class OcrUnavailable(ImportError):
    """The optional OCR packages are not installed (``pip install 'gkwatch[ocr]'``)."""


@dataclass(frozen=True, slots=True)
class Word:
    """A recognized word (a CJK character, or a run of digits/latin) with its box and score."""

    text: str
    score: float
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2


def available() -> bool:
    """Whether the OCR packages are installed (checked without loading the models)."""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("rapidocr", "onnxruntime", "cv2"))


def engine():
    """The process's RapidOCR engine (made on first use)."""
    global _ENGINE
    if _ENGINE is None:
        with _LOCK:
            if _ENGINE is None:
                try:
                    logging.getLogger("RapidOCR").setLevel(logging.ERROR)
                    from rapidocr import RapidOCR
                except ImportError as e:  # pragma: no cover - depends on the install
                    raise OcrUnavailable(str(e)) from e
                _ENGINE = RapidOCR(params=dict(PARAMS))
    return _ENGINE


def words(gray: np.ndarray) -> list[Word]:
    """Every word on a page image (grey), with its box and score."""
    out = engine()(np.ascontiguousarray(_bgr(gray)))
    result: list[Word] = []
    if out.boxes is None or out.txts is None:
        return result
    for box, text, score, wres in zip(out.boxes, out.txts, out.scores, out.word_results or (), strict=False):
        if wres:
            for w_text, w_score, w_box in wres:
                if not w_text or not w_text.strip():
                    continue
                xs = [p[0] for p in w_box]
                ys = [p[1] for p in w_box]
                result.append(Word(w_text, float(w_score), min(xs), min(ys), max(xs), max(ys)))
        elif text and text.strip():
            b = np.asarray(box)
            result.append(
                Word(text, float(score), float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 0].max()),
                     float(b[:, 1].max()))
            )  # fmt: skip
    return result


def recognize_crops(crops: list[np.ndarray]) -> list[tuple[str, float]]:
    """(text, score) for each crop holding one line of text (no detection: the crop is the line)."""
    if not crops:
        return []
    from rapidocr.ch_ppocr_rec import TextRecInput

    rec = engine().text_rec(TextRecInput(img=[_bgr(c) for c in crops]))
    return [(t or "", float(s)) for t, s in zip(rec.txts, rec.scores, strict=True)]


def _bgr(gray: np.ndarray) -> np.ndarray:
    if gray.ndim == 3:
        return gray
    return np.repeat(gray[:, :, None], 3, axis=2)
