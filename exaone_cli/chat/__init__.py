"""`exaone chat`: a conversation with documents, the model loaded once (session, terminal, pipes, transcript).
May import render/, api and the layers below them (ask/ for page texts and --look); never cli/.
"""
