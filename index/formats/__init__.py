"""One module per file format, each turning raw bytes into `LoadedText` (text + title + pages).

`index.loaders` registers them by file suffix; nothing here knows about the registry or settings.
"""
