"""MLflow's REST API over runyard's stores, so the stock MLflow client logs into runyard.

``MLFLOW_TRACKING_URI=http://host:port/<workspace>`` (the URI the runyard SDK uses) and
``MLFLOW_TRACKING_TOKEN=<a runyard token>``; the routes answer under
``/<workspace>/api/2.0/mlflow/`` (tracking) and ``/<workspace>/api/2.0/mlflow-artifacts/``
(the artifact proxy), and at the root too for the artifact proxy (older clients drop the
tracking URI's path) and, when the server serves one local workspace, for tracking. The
mapping between MLflow's entities and runyard's is docs/mlflow.md.

Modules: ``install`` (the routers), ``access`` (workspace, token, role), ``bodies`` (request
fields), ``convert`` (entities as MLflow's JSON), ``search`` (MLflow's filters and sort keys as
runyard's; ``model_search`` for logged models), ``errors`` (MLflow's error shape), and the
routes: ``experiments``, ``runs``, ``models`` (logged models, run inputs and outputs),
``registry`` (the model registry; ``versions`` its JSON, sources and searches), ``artifacts``.
"""
