"""The submit form's fields from the real params schemas (frontend/job_form.py): groups, titles,
reference fields and their twins, and the form's values back to API parameters."""

from __future__ import annotations

from backend.jobs.kinds import KINDS
from frontend import job_form


def specs(kind: str) -> dict[str, dict]:
    fields = job_form.fields(kind, KINDS[kind].params.model_json_schema())
    return {s["name"]: s for s in fields}


def test_finetune_fields_are_grouped_titled_and_refer_by_role():
    found = specs("finetune")
    assert "base_model_name" not in found  # the model dropdown fills it
    assert found["base_model_id"]["ref"] == ("model", None, "id")
    assert found["base_model_id"]["required"]  # one of id and name is
    assert found["general_dataset_id"]["ref"] == ("dataset", "general", "id")
    assert found["safety_dataset_id"]["ref"] == ("dataset", "safety", "id")
    assert found["vcl_window_a"]["group"] == "VCL" and found["lora_rank"]["group"] == "LoRA"
    assert found["learning_rate"]["group"] == "Optimisation"
    assert found["name"]["group"] == "Output" and found["fsdp"]["group"] == "Devices"
    assert found["vcl_lambda"]["title"] == "VCL weight lambda"
    assert found["safety_fraction"]["facts"] == "range 0 to 1 · default 0.1"
    order = [
        s["group"]
        for s in job_form.fields("finetune", KINDS["finetune"].params.model_json_schema())
    ]
    assert order == sorted(order, key=job_form.GROUPS.index)


def test_form_values_become_api_parameters():
    sweep = specs("sweep")
    assert job_form.convert(sweep["safety_fractions"], "0, 0.1,0.4") == {
        "safety_fractions": [0, 0.1, 0.4]
    }
    assert job_form.convert(sweep["vcl_ks"], "3, 5") == {"vcl_ks": [3, 5]}
    assert job_form.convert(sweep["vcl_signs"], ["penalise"]) == {"vcl_signs": ["penalise"]}
    assert job_form.convert(sweep["system_prompts"], "(none)\nBe brief.\n") == {
        "system_prompts": [None, "Be brief."]
    }
    assert job_form.convert(sweep["finetune"], "") == {}  # left out: the default applies
    assert job_form.convert(sweep["finetune"], '{"epochs": 2}') == {"finetune": {"epochs": 2}}
    assert job_form.convert(sweep["base_model_id"], "name:demo") == {"base_model_name": "demo"}
    assert job_form.convert(sweep["base_model_id"], 4) == {"base_model_id": 4}
    assert job_form.convert(sweep["dpo"], []) == {"dpo": False}
    # what cannot be read is sent as typed: the API names the field
    assert job_form.convert(sweep["seeds"], "1, x") == {"seeds": [1, "x"]}


def test_the_url_prefills_in_the_inputs_terms():
    sweep, evaluate = specs("sweep"), specs("evaluate")
    assert job_form.initial(sweep["safety_fractions"], {}) == "0.0, 0.1, 0.4"
    assert job_form.initial(sweep["system_prompts"], {}) == "(none)"
    assert job_form.initial(sweep["base_model_id"], {"base_model_name": "demo"}) == "name:demo"
    assert job_form.initial(evaluate["probe_dataset_id"], {"probe_dataset_id": "7"}) == 7
    assert job_form.initial(evaluate["chat_template"], {"chat_template": "false"}) == []
    assert job_form.article("evaluate") == "an evaluate" and job_form.article("sweep") == "a sweep"
    assert job_form.dom_id({"type": "param", "name": "x"}) == '{"name":"x","type":"param"}'
