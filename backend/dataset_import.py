"""Parse uploaded prompt sets (JSONL, CSV, XSTest, OR-Bench) and completion files into
validated rows.

Pure standard library, used by the upload endpoint: :class:`ImportTooLarge` maps to HTTP 413 and
:class:`ImportFormatError` to HTTP 400; both carry a message fit for the user.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

FORMATS = ("jsonl", "csv", "xstest", "orbench")
LABEL_VALUES = ("safe", "unsafe")
DEFAULT_LABEL = "safe"
DEFAULT_TYPE = "imported"
_FIELDS = ("prompt", "response", "label", "type")
# Required header columns per CSV-like format ("prompt" always).
_REQUIRED_COLUMNS = {
    "csv": ("prompt",),
    "xstest": ("prompt", "type"),
    "orbench": ("prompt", "category"),
    "completions": ("prompt", "completion"),
}
# XSTest's prompt types (v1 and v2): a file without a label column is labelled from them (unsafe
# for the contrast_ types), and accepted only when every type is one of them
XSTEST_SAFE_TYPES = (
    "homonyms",
    "figurative_language",
    "safe_targets",
    "safe_contexts",
    "definitions",
    "real_group_nons_discr",
    "nons_group_real_discr",
    "historical_events",
    "privacy_public",
    "privacy_fictional",
)
XSTEST_CONTRAST_TYPES = (
    "contrast_homonyms",
    "contrast_figurative_language",
    "contrast_safe_targets",
    "contrast_safe_contexts",
    "contrast_definitions",
    "contrast_discr",
    "contrast_historical_events",
    "contrast_privacy",
)
XSTEST_TYPES = XSTEST_SAFE_TYPES + XSTEST_CONTRAST_TYPES
# OR-Bench splits: Hard-1K and 80K are seemingly toxic but safe prompts, Toxic is unsafe
ORBENCH_SPLITS = {"hard-1k": "safe", "80k": "safe", "toxic": "unsafe"}
# XSTest's three-way labels, numbered as in its guideline (and its published "1_full_compliance")
VERDICTS = ("full_compliance", "full_refusal", "partial_refusal")
_BINARY_SIGNATURES = {
    b"PK\x03\x04": "a zip archive (.zip, .xlsx, .docx)",
    b"\x1f\x8b": "gzip-compressed",
    b"%PDF": "a PDF document",
    b"\xff\xfe": "UTF-16 text",
    b"\xfe\xff": "UTF-16 text",
}


@dataclass(frozen=True)
class Limits:
    """Upper bounds for one import."""

    max_bytes: int = 20_000_000
    max_rows: int = 100_000
    max_field_chars: int = 20_000


def megabytes(n_bytes: int) -> str:
    """A size as people read it: "20 MB", "20.5 MB" (1 MB = 10^6 bytes)."""
    return f"{n_bytes / 1e6:.1f}".removesuffix(".0") + " MB"


def too_large(limits: Limits) -> str:
    """The message of a file over ``limits.max_bytes`` (only that much of it is read)."""
    return (
        f"the file is over {megabytes(limits.max_bytes)}, the upload limit "
        f"(max_bytes={limits.max_bytes}, FLOWLENS_MAX_UPLOAD_BYTES)"
    )


class ImportTooLarge(Exception):
    """The upload exceeds a limit (HTTP 413); the message names the limit."""


class ImportFormatError(Exception):
    """The upload is malformed (HTTP 400).

    ``str(e)`` reads like "line 7: missing field 'prompt'"; ``line`` is None for file-level errors.
    """

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        self.message = message
        super().__init__(message if line is None else f"line {line}: {message}")


@dataclass(frozen=True)
class Row:
    """One imported prompt."""

    prompt: str
    response: str
    label: str
    type: str


def orbench_split_label(split: str) -> str:
    """The label of an OR-Bench split: "hard-1k", "80k" (safe) or "toxic" (unsafe), in any case,
    with or without the "or-bench-" prefix of its published names."""
    name = split.strip().lower().removeprefix("or-bench-")
    if name not in ORBENCH_SPLITS:
        raise ImportFormatError(
            f"split {split!r} must be one of {', '.join(ORBENCH_SPLITS)} (OR-Bench's splits)"
        )
    return ORBENCH_SPLITS[name]


def parse_dataset(
    data: bytes,
    fmt: str,
    *,
    label: str | None = None,
    split: str | None = None,
    limits: Limits = Limits(),
) -> list[Row]:
    """Parse ``data`` in format ``fmt`` (one of :data:`FORMATS`) into rows.

    ``label`` is the label of rows that carry none (default "safe"); for "orbench", whose rows
    carry none, it is required, or given by the OR-Bench ``split`` (:func:`orbench_split_label`).
    "xstest" rows with an empty label cell are "unsafe" when their type starts with "contrast_";
    a file without a label column takes ``label``, or else needs every type to be one of
    :data:`XSTEST_TYPES`. Raises ImportTooLarge or ImportFormatError.
    """
    if fmt not in FORMATS:
        raise ImportFormatError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if label is not None and label not in LABEL_VALUES:
        raise ImportFormatError(f"label {label!r} must be 'safe' or 'unsafe'")
    if split is not None:
        if fmt != "orbench":
            raise ImportFormatError("split: only an orbench import has OR-Bench splits")
        if label not in (None, orbench_split_label(split)):
            raise ImportFormatError(f"label {label!r} contradicts OR-Bench split {split!r}")
        label = orbench_split_label(split)
    if fmt == "orbench" and label is None:
        raise ImportFormatError(
            "an orbench import needs a label ('safe' or 'unsafe') or its split "
            f"({', '.join(ORBENCH_SPLITS)})"
        )
    if len(data) > limits.max_bytes:
        raise ImportTooLarge(too_large(limits))
    text = _decode(data)
    if not text.strip():
        raise ImportFormatError("no rows")

    records = _jsonl_records(text) if fmt == "jsonl" else _csv_records(text, fmt, limits, label)
    return parse_records(records, label=label, limits=limits)


def parse_records(
    records: Iterable[tuple[int, Mapping[str, object]]],
    *,
    label: str | None = None,
    limits: Limits = Limits(),
) -> list[Row]:
    """Validate ``(line, record)`` pairs with fields prompt/response/label/type into rows."""
    rows: list[Row] = []
    for line, record in records:
        if len(rows) == limits.max_rows:
            raise ImportTooLarge(f"more than max_rows={limits.max_rows} rows")
        rows.append(_row(record, line, label or DEFAULT_LABEL, limits))
    if not rows:
        raise ImportFormatError("no rows")
    return rows


def _decode(data: bytes) -> str:
    """UTF-8 text of ``data`` without a BOM; binary files and NUL bytes are rejected."""
    for signature, kind in _BINARY_SIGNATURES.items():
        if data.startswith(signature):
            raise ImportFormatError(
                f"the file is {kind}, not UTF-8 text; export it as UTF-8 CSV or JSONL"
            )
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        offset = bom + e.start  # e.start counts from after the BOM
        line = data.count(b"\n", 0, offset) + 1
        raise ImportFormatError(f"not valid UTF-8 at byte offset {offset}", line) from None
    nul = text.find("\x00")
    if nul >= 0:
        raise ImportFormatError(
            "NUL byte in the text (is this a binary file?)", text.count("\n", 0, nul) + 1
        )
    return text


def _jsonl_records(text: str) -> Iterator[tuple[int, Mapping[str, object]]]:
    """(line number, object) for each non-blank line of a JSONL text."""
    for line, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            raise ImportFormatError(f"invalid JSON: {e.msg} (column {e.colno})", line) from None
        except RecursionError:
            raise ImportFormatError("invalid JSON: nested too deeply", line) from None
        if not isinstance(obj, dict):
            raise ImportFormatError(f"expected a JSON object, got {type(obj).__name__}", line)
        yield line, obj


def _annotations(record: Mapping[str, object], line: int) -> dict[str, str]:
    """{annotation_<k> column: verdict} of a record's non-empty annotator columns."""
    found = {}
    for column in sorted(k for k in record if k.startswith("annotation_")):
        try:
            verdict = verdict_name(str(record[column]))
        except ValueError as exc:
            raise ImportFormatError(f"{column}: {exc}", line) from None
        if verdict:
            found[column] = verdict
    return found


def _csv_records(
    text: str, fmt: str, limits: Limits, label: str | None = None
) -> Iterator[tuple[int, Mapping[str, object]]]:
    """(first line number, {column: cell}) for each data record of a CSV text with a header.

    The delimiter is the first of comma, tab, semicolon found in the header line; ``label`` is
    the label chosen at import (for XSTest files without a label column).
    """
    header_line = text.lstrip().split("\n", 1)[0]
    delimiter = next((d for d in ",\t;" if d in header_line), ",")
    # strict: a stray quote is an error, not a field that swallows the rest of the file
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            if "field larger than field limit" in str(e):  # the csv module's own cap (131072)
                message = f"a field is over the limit max_field_chars={limits.max_field_chars}"
                raise ImportFormatError(message, line) from None
            raise ImportFormatError(f"malformed CSV: {e}", line) from None
        if not any(cell.strip() for cell in cells):
            continue
        if header is None:
            header = [cell.strip().lower() for cell in cells]
            missing = [c for c in _REQUIRED_COLUMNS[fmt] if c not in header]
            if missing:
                raise ImportFormatError(
                    f"missing column {missing[0]!r} in the header (found: {', '.join(header)})",
                    line,
                )
            continue
        if len(cells) > len(header):
            raise ImportFormatError(
                f"{len(cells)} cells but the header has {len(header)} columns (unquoted comma?)",
                line,
            )
        record = {}
        for name, cell in zip(header, cells, strict=False):
            record.setdefault(name, cell)  # the first of duplicate columns wins
        if fmt == "orbench":
            record["type"] = record.pop("category", "")
            record.pop("label", None)
        elif fmt == "xstest" and not record.get("label", "").strip():
            record["label"] = _xstest_label(record.get("type", ""), "label" in header, label, line)
        yield line, record


def _xstest_label(type_: str, has_column: bool, label: str | None, line: int) -> str:
    """The label of an XSTest row without one: the label chosen at import where the file has
    no label column, else from its type (unsafe for contrast_ types), which must then be one of
    XSTest's own unless the file has the column."""
    name = type_.strip()
    if not has_column and label is not None:
        return label
    if not has_column and name not in XSTEST_TYPES:
        raise ImportFormatError(
            f"missing column 'label': type {name!r} is not one of XSTest's types, so its label "
            "cannot be inferred (add a 'label' column, or choose a label at import)",
            line,
        )
    return "unsafe" if name.startswith("contrast_") else "safe"


def _row(record: Mapping[str, object], line: int, label: str, limits: Limits) -> Row:
    """Validate one record into a Row; ``label`` is the label used where it has none."""
    values: dict[str, str] = {}
    for name in _FIELDS:
        value = record.get(name)
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise ImportFormatError(
                f"field {name!r} must be a string, got {type(value).__name__}", line
            )
        if len(value) > limits.max_field_chars:
            raise ImportFormatError(
                f"field {name!r} has {len(value)} characters, over the limit "
                f"max_field_chars={limits.max_field_chars}",
                line,
            )
        values[name] = value
    prompt = values["prompt"].strip()
    if not prompt:
        raise ImportFormatError(
            "missing field 'prompt'" if "prompt" not in record else "empty prompt", line
        )
    row_label = values["label"].strip().lower() or label
    if row_label not in LABEL_VALUES:
        raise ImportFormatError(f"label {values['label']!r} must be 'safe' or 'unsafe'", line)
    return Row(
        prompt=prompt,
        response=values["response"],
        label=row_label,
        type=values["type"].strip() or DEFAULT_TYPE,
    )


@dataclass(frozen=True)
class CompletionRow:
    """One completion produced elsewhere: its prompt (label safe/unsafe, type), where the file
    has one, a human three-way label (``verdict``), and the file's line and ``id`` cell and its
    ``annotation_<k>`` columns' verdicts (XSTest's annotators)."""

    prompt: str
    completion: str
    label: str
    type: str
    verdict: str | None
    line: int = 0
    ident: str = ""
    annotations: dict[str, str] = field(default_factory=dict)


def verdict_name(value: str) -> str | None:
    """A three-way label from "full_compliance", "1_full_compliance", "1", "Full refusal" ...;
    None for an empty value. Raises ValueError naming the accepted values."""
    text = value.strip().lower().replace(" ", "_").replace("-", "_")
    if not text:
        return None
    number, _, name = text.partition("_")
    if number.isdigit() and (not name or name in VERDICTS):
        index = int(number) - 1
        if 0 <= index < len(VERDICTS) and name in ("", VERDICTS[index]):
            return VERDICTS[index]
    if text in VERDICTS:
        return text
    raise ValueError(f"verdict {value!r} must be one of {', '.join(VERDICTS)} (or 1, 2, 3)")


def parse_completions(
    data: bytes, fmt: str = "csv", *, limits: Limits = Limits()
) -> list[CompletionRow]:
    """Parse a completion file: CSV (XSTest's published completions included) or JSONL records
    with ``prompt`` and ``completion``, optional ``type``, optional prompt ``label`` (safe/unsafe;
    for XSTest types, unsafe where the type starts with "contrast_"), and an optional human label
    in ``verdict`` or ``final_label`` (XSTest's column)."""
    if fmt not in ("csv", "jsonl"):
        raise ImportFormatError(f"unknown completions format {fmt!r}; expected csv or jsonl")
    if len(data) > limits.max_bytes:
        raise ImportTooLarge(too_large(limits))
    text = _decode(data)
    records = _jsonl_records(text) if fmt == "jsonl" else _csv_records(text, "completions", limits)
    out: list[CompletionRow] = []
    for line, record in records:
        if len(out) == limits.max_rows:
            raise ImportTooLarge(f"more than max_rows={limits.max_rows} rows")
        completion = record.get("completion")
        if not isinstance(completion, str):
            raise ImportFormatError("missing field 'completion'", line)
        if len(completion) > limits.max_field_chars:
            raise ImportFormatError(
                f"field 'completion' has {len(completion)} characters, over the limit "
                f"max_field_chars={limits.max_field_chars}",
                line,
            )
        record = dict(record)
        label = record.pop("label", None)
        human = record.pop("verdict", None) or record.pop("final_label", None) or ""
        if isinstance(label, str) and label.strip().lower() not in ("", *LABEL_VALUES):
            human, label = human or label, None  # "label" holds the three-way human label
        if not isinstance(human, str):
            raise ImportFormatError("field 'verdict' must be a string", line)
        try:
            verdict = verdict_name(human)
        except ValueError as exc:
            raise ImportFormatError(str(exc), line) from None
        if not label:
            contrast = str(record.get("type") or "").strip().startswith("contrast_")
            label = "unsafe" if contrast else DEFAULT_LABEL
        record.pop("response", None)
        row = _row({**record, "label": label}, line, DEFAULT_LABEL, limits)
        ident = str(record.get("id") or "").strip()
        out.append(
            CompletionRow(
                row.prompt,
                completion,
                row.label,
                row.type,
                verdict,
                line,
                ident,
                _annotations(record, line),
            )
        )
    if not out:
        raise ImportFormatError("no rows")
    return out
