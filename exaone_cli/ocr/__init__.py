"""The run of `exaone ocr`: plans, read-ahead, batches, retries, text sources, output sinks.

May import the shared layers below it (results, prompts, engines, pages, store, config, errors...);
never ask/, extract/, api, render/ or cli/.
"""
