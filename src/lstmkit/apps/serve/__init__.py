"""``lstmkit serve``: an HTTP API over saved models (FastAPI + uvicorn).

:mod:`.store` finds and loads the model files of a folder (once, shared by every request),
:mod:`.schemas` says what each request may hold, :mod:`.handlers` answers each model kind,
:mod:`.sessions` keeps streaming sessions, :mod:`.app` assembles the application and
:mod:`.job` runs it.
"""
