"""The run of `exaone ocr`: plans, read-ahead, batches, retries, text sources, output sinks.
May import the shared layers (results, prompts, engines, pages, store, ...); never ask/, extract/, api, render/, cli/.
"""
