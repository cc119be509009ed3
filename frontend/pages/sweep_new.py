"""/sweeps/new: the submit form for a sweep (the same form as /submit/sweep)."""

from __future__ import annotations

import dash

from frontend.components import submit_form

dash.register_page(__name__, path="/sweeps/new", name="New sweep", order=6)


def layout(**query):
    return submit_form(kind="sweep", **query)
