"""Output formats: one module per format, listed in RENDERERS."""

from __future__ import annotations

from hostmap.render import json_doc, text

__all__ = ["RENDERERS"]

RENDERERS = {
    "json": json_doc.render,
    "text": text.render,
}
