"""`exaone extract`: documents to JSON that matches a schema.
May import ocr/ (plans, the pipeline, output checks) and the shared layers; never ask/, api, render/ or cli/.

The schema side is pure: `schema` (a file, --fields, the shipped `templates/`), `prompt`, `validate`
(jsonschema), `flatten` (CSV columns); `result` is the record; `runner` drives an engine
(grammar-constrained decoding lives with the local engine, in engines/grammar.py).
"""
