"""Notebook 01 · threads: start, join, share memory, use a pool.

``seed``    the seed article's example functions, importable by children (additions listed)
``sharing`` who sees whose memory: threads share, processes copy
``basics``  the notebook's demos and its exercises' self-checks
``overlap`` how many waits were under way at once, in words
"""
