"""/finetune/new: the submit form for a fine-tune (the same form as /submit/finetune)."""

from __future__ import annotations

import dash

from frontend.components import submit_form

dash.register_page(__name__, path="/finetune/new", name="New fine-tune", order=5)


def layout(**query):
    return submit_form(kind="finetune", **query)
