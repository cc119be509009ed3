"""Import completions produced elsewhere (XSTest's published CSV, JSONL) as an evaluation.

The file is parsed first (a 400 names the line); then, in one transaction, its prompts become a
Dataset (source "upload", format "completions"), its completions an Evaluation with source
"imported" and no model or job (verdicts "pending" until judged), the human labels it carries
HumanLabel rows of labeller "import:<file name>", and a ``reclassify`` job is queued to judge the
completions with the chosen classifier. The API runs no classifier itself (it never imports the
worker).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, HTTPException, UploadFile
from sqlalchemy import select

from backend import queue
from backend.api.deps import WriteSessionDep
from backend.api.routes.datasets import LIMITS, NAME_PATTERN
from backend.api.routes.jobs import validate_params
from backend.dataset_import import ImportFormatError, ImportTooLarge, Row, parse_completions
from backend.models import Dataset, Evaluation, HumanLabel, add_completions, add_dataset
from backend.schemas import EvaluationImport, EvaluationPublic

router = APIRouter(tags=["evaluations"])


@router.post("/evaluations/import", response_model=EvaluationImport, status_code=201)
async def import_completions(
    session: WriteSessionDep,
    file: Annotated[UploadFile, File(description="Completions: prompt, completion, ...")],
    name: Annotated[str, Form(pattern=NAME_PATTERN, description="Name of its prompt set")],
    format: Annotated[Literal["csv", "jsonl"], Form()] = "csv",
    classifier: Annotated[str, Form(description="Classifier that judges them")] = "rules",
) -> EvaluationImport:
    """All rows or none: parse, then store and queue the judging job in one transaction."""
    data = await file.read(LIMITS.max_bytes + 1)
    try:
        rows = parse_completions(data, format, limits=LIMITS)
    except ImportTooLarge as exc:
        raise HTTPException(413, f"file: {exc}") from None
    except ImportFormatError as exc:
        raise HTTPException(400, f"file: {exc}") from None
    if session.scalar(select(Dataset.id).where(Dataset.name == name)) is not None:
        raise HTTPException(409, f"name: a dataset named {name!r} already exists")
    filename = file.filename or "file"
    dataset = add_dataset(
        session,
        [Row(r.prompt, "", r.label, r.type) for r in rows],
        name=name,
        source="upload",
        format="completions",
        description=f"prompts of the completions in {filename}",
    )
    evaluation = Evaluation(
        dataset_id=dataset.id,
        source="imported",
        params={"classifier": classifier, "file": filename, "format": format},
    )
    session.add(evaluation)
    session.flush()
    completions = add_completions(session, evaluation.id, rows, [r.completion for r in rows])
    labeller = f"import:{filename}"[:100]
    labels = [
        HumanLabel(completion_id=c.id, labeller=labeller, verdict=r.verdict)
        for c, r in zip(completions, rows, strict=True)
        if r.verdict is not None
    ]
    session.add_all(labels)
    # the classifier's name and model are checked here, so a bad one rolls everything back
    params = validate_params(
        "reclassify", {"evaluation_id": evaluation.id, "classifier": classifier}, session
    )
    job = queue.enqueue(session, "reclassify", params)
    session.flush()
    return EvaluationImport(
        evaluation=EvaluationPublic.model_validate(evaluation),
        dataset_id=dataset.id,
        n_completions=len(completions),
        n_labels=len(labels),
        job_id=job.id,
    )
