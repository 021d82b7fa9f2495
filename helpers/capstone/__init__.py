"""Notebook 09 · capstone: a pipeline with the right tool per stage.

``stages``         the pipeline's stages: fetch, parse, compute, aggregate
``pipeline``       the pipeline with a tool per stage; words, plot, lab widget, checks
``decision_guide`` which tool when, each rule pointing at the notebook that measured it
"""
