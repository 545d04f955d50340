"""`exaone mcp`: EXAONE's document reading as tools for AI agents, over the Model Context Protocol.
May import render/, api, ask, extract, ocr and the layers below them, and the `mcp` SDK (the `mcp` extra)."""
