"""Notebook 09 · capstone: a pipeline with the right tool per stage.

``stages``         the pipeline's stages: fetch, parse, compute, aggregate
``plan``           the job (pages, latency, compute size) and the tool chosen per stage
``pipeline``       run the stages, each on its tool, timed; compare several choices
``verdicts``       sentences from the measurements: profile, comparison, one choice
``plot``           one stacked bar per choice: each stage's time, then the pools' set-up
``lab``            ``CapstoneLab``: pick a tool per stage, press Run, compare
``target``         exercise 2's target, from your own measurements of every stage
``exercises``      the exercises' self-checks
``key_points``     the closing key points, from your measurements
``decision_guide`` which tool when, each rule pointing at the notebook that measured it
"""
