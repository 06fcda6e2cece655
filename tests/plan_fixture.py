"""A small valid plan document, built in code, for tests of validation rules."""

from __future__ import annotations

from typing import Any


def text(label: str) -> dict[str, str]:
    return {"zh": f"{label}（中文）", "en": label}


def minimal_plan() -> dict[str, Any]:
    means = []
    for letter, kind in zip("ABCDE", ["substantive", "substantive", "enabling", "enabling", "enabling"], strict=True):
        means.append(
            {
                "id": f"MI-{letter}",
                "section": f"VI.{letter}",
                "kind": kind,
                "name": text(f"means {letter}"),
                "description": text(f"about means {letter}"),
                "paragraphs": [5],
                "outcome": {"id": f"OC-{letter}", "statement": text(f"outcome {letter}"), "paragraphs": [55]},
                "accountable_office": {"name": text("headquarters"), "role": text("leads"), "paragraphs": [88]},
            }
        )
    return {
        "plan": {
            "id": "test-plan",
            "version": "1",
            "title": text("Test plan"),
            "period_start": 2026,
            "period_end": 2029,
            "document": "TEST/1",
            "source_language": "zh",
            "paragraph_count": 100,
        },
        "strategic_focus": {"id": "SF", "statement": text("focus"), "paragraphs": [2]},
        "global_impact": {"id": "GI", "statement": text("impact"), "paragraphs": [4]},
        "impact_areas": [
            {
                "id": f"IA-{x}",
                "section": f"V.{x}",
                "name": text(f"area {x}"),
                "description": text("d"),
                "paragraphs": [3],
            }
            for x in "ABC"
        ],
        "means_of_implementation": means,
        "results_levels": [
            {
                "level": level,
                "name": text(level),
                "definition": text("def"),
                "influence": text("inf"),
                "paragraphs": [52],
            }
            for level in ("impact", "outcome", "output")
        ],
        "output_sets": [
            {
                "year": 2026,
                "status": "proposed",
                "note": text("illustrative"),
                "outputs": [
                    {"id": "OP-A-2026-1", "outcome": "OC-A", "statement": text("an output"), "paragraphs": [59]},
                ],
            }
        ],
        "leave_no_one_behind": [{"id": "women-girls", "name": text("women and girls"), "paragraphs": [54]}],
        "indicator_selection_criteria": [
            {"id": c, "text": text(f"criterion {c}"), "paragraphs": [98]} for c in "abcdef"
        ],
    }
