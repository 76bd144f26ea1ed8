"""What OCR adds to a reading (issue 12): each cell's confidence, which cells the reader is sure of, and
misreads mended by the table's own sums — so that OCR never invents an inconsistency.

The pictures themselves are read into documents by ``crawler.reading.documents.ocr`` (a format reader
like the others); ``crawler.reading.read`` hands the reading of such a document to ``finish``.
"""

from crawler.reading.ocr.document import SURE_CONFIDENCE, finish

__all__ = ["SURE_CONFIDENCE", "finish"]
