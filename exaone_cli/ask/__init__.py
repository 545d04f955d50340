"""`exaone ask` on documents: page texts (layer, store, transcription), retrieval, prompt, citations.
May import ocr/ (to transcribe pages) and the shared layers below it; never extract/, api, render/ or cli/.
"""
