"""Parameters of every job kind: one Pydantic model each, validated at submit time and stored
with the job so that a result is reproducible from what the database holds.

``base`` (the base model, a model named by id or name, devices), ``classifiers`` (refusal
classifier names), and the models grouped by what the kinds do: ``diagnostic``, ``datasets``,
``training`` (demo model, fine-tune, preference data, DPO), ``geometry`` (captures, probes,
directions and interventions, data similarity) and ``evaluation`` (evaluate, reclassify, the
sweeps)."""
