"""The web form of a comply-or-justify filing, both ways: the plan or justification a submitted form
describes, the form fields that show a filed one again (to edit it), and each schema problem as a plain
English message at the form field it belongs to (the NHS design system's error summary and error message).

The form is flat text: actions are one a line, "description | owner | due date"; the expected trajectory one
point a line, "date value%"; evidence one item a line. uptake.mission.plans checks the content.
"""

from __future__ import annotations

from typing import Any

from uptake.mission.plans import ContentProblems

#: Form fields in the order they appear, with the label the error summary uses.
FIELD_LABELS: dict[str, str] = {
    "commitment": "Commitment",
    "summary": "Summary",
    "actions": "Actions",
    "funding_amount": "Funding (pounds)",
    "funding_source": "Funding source",
    "funding_years": "Funding years",
    "support": "Support for providers",
    "expected_trajectory": "Expected trajectory",
    "reason_category": "Reason category",
    "reason": "Reason",
    "evidence": "Evidence",
    "alternative": "What the ICB does instead",
    "review_date": "Review date",
}

# Where a schema location lands on the form: (first name, second name) -> form field.
_FUNDING = {"amount_pounds": "funding_amount", "source": "funding_source", "years": "funding_years"}
_LINE_FIELDS = {"actions", "expected_trajectory", "evidence"}
_PARTS = {"description": "the description", "owner": "the owner", "due": "the due date", "status": "the status",
          "date": "the date", "value": "the value"}


def lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def content_from_form(kind: str, form: dict[str, str]) -> dict[str, Any]:
    """The plan or justification a form describes (unchecked: uptake.mission.plans.check_content checks it)."""
    if kind == "justification":
        return {"reason_category": form.get("reason_category", ""), "reason": form.get("reason", ""),
                "evidence": lines(form.get("evidence", "")), "alternative": form.get("alternative", ""),
                "review_date": form.get("review_date", "")}
    actions = []
    for line in lines(form.get("actions", "")):
        parts = [p.strip() for p in line.split("|")]
        actions.append({"description": parts[0], "owner": parts[1] if len(parts) > 1 else "",
                        "due": parts[2] if len(parts) > 2 else ""})
    trajectory = []
    for line in lines(form.get("expected_trajectory", "")):
        date, _, value = line.partition(" ")
        value = value.strip().rstrip("%").strip()
        try:
            number: Any = float(value) / 100
        except ValueError:
            number = value
        trajectory.append({"date": date, "value": number})
    try:
        amount: Any = float(form.get("funding_amount", "").replace(",", "").replace("£", "").strip())
    except ValueError:
        amount = form.get("funding_amount", "")
    return {"summary": form.get("summary", ""), "actions": actions,
            "funding": {"amount_pounds": amount, "source": form.get("funding_source", ""),
                        "years": form.get("funding_years") or None},
            "support": form.get("support", ""), "expected_trajectory": trajectory}


def _number(value: Any) -> str:
    """A number as a person would type it: no trailing ".0", no float noise (0.15 * 100 = 15.000000000000002)."""
    rounded = round(float(value), 6)
    return str(int(rounded)) if rounded == int(rounded) else f"{rounded:g}"


def form_from_content(kind: str, content: dict[str, Any]) -> dict[str, str]:
    """The form fields that show a filed plan or justification again (the inverse of content_from_form)."""
    if kind == "justification":
        return {"reason_category": content.get("reason_category", ""), "reason": content.get("reason", ""),
                "evidence": "\n".join(content.get("evidence", [])), "alternative": content.get("alternative", ""),
                "review_date": str(content.get("review_date", ""))}
    funding = content.get("funding") or {}
    amount = funding.get("amount_pounds")
    return {
        "summary": content.get("summary", ""),
        "actions": "\n".join(f"{a['description']} | {a['owner']} | {a['due']}" for a in content.get("actions", [])),
        "funding_amount": "" if amount is None else _number(amount),
        "funding_source": funding.get("source") or "",
        "funding_years": funding.get("years") or "",
        "support": content.get("support", ""),
        "expected_trajectory": "\n".join(f"{p['date']} {_number(float(p['value']) * 100)}%"
                                         for p in content.get("expected_trajectory", [])),
    }


def _what(error_type: str, message: str) -> str:
    """A pydantic problem in plain words."""
    if error_type == "missing" or error_type == "string_too_short":
        return "is empty"
    if error_type == "too_short":
        return "needs at least one line"
    if error_type.startswith("date"):
        return "is not a date like 2024-03-31"
    if error_type.startswith("float") or error_type.startswith("int"):
        return "is not a number"
    if error_type == "greater_than_equal":
        return "cannot be negative"
    if error_type == "enum":
        return "is not one of the choices"
    return message[0].lower() + message[1:] if message else "is not valid"


def field_errors(problems: ContentProblems) -> list[tuple[str, str]]:
    """Each problem as (form field id, plain English message), in the order of the form, one message per
    field and line."""
    found: list[tuple[str, str]] = []
    for loc, error_type, message in problems.problems:
        head = loc[0] if loc else None
        if head == "funding" and len(loc) > 1:
            field = _FUNDING.get(str(loc[1]), "funding_amount")
            text = f"{FIELD_LABELS[field]} {_what(error_type, message)}"
        elif head in _LINE_FIELDS and len(loc) > 1 and isinstance(loc[1], int):
            field = str(head)
            part = _PARTS.get(str(loc[2]), str(loc[2])) if len(loc) > 2 else "the line"
            text = f"{FIELD_LABELS[field]}, line {loc[1] + 1}: {part} {_what(error_type, message)}"
        elif head in FIELD_LABELS:
            field = str(head)
            text = f"{FIELD_LABELS[field]} {_what(error_type, message)}"
        else:  # the content as a whole: the only such rule is the trajectory's order
            field = "expected_trajectory" if problems.kind == "plan" else "reason"
            text = f"{FIELD_LABELS[field]}: {message.removeprefix('Value error, ')}"
            if "expected_trajectory dates" in message:
                text = "Expected trajectory: put the dates in order, each date once"
        if (field, text) not in found:
            found.append((field, text))
    order = list(FIELD_LABELS)
    return sorted(found, key=lambda item: order.index(item[0]))
