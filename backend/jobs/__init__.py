"""The job contract, shared by the API (submit-time validation) and the worker (execution):
the kind registry (``kinds``), one parameters model per kind (``params``) and the submit-time
checks against the database (``checks``). Torch-free; the worker implements the functions the
registry names."""
