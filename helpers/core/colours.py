"""The lab's colours, named, in one place: the Okabe–Ito palette and a grey.

Okabe and Ito chose these eight colours to stay distinguishable with the common forms
of colour blindness. Every plot and every ✓/✗ of the lab takes its colour from here,
by name, so one colour means one thing wherever it appears.

This module imports nothing: the self-checks colour their HTML with it, also in a
free-threaded interpreter that has no matplotlib.
"""
from __future__ import annotations

BLUE = "#0072B2"
ORANGE = "#E69F00"
BLUISH_GREEN = "#009E73"
VERMILLION = "#D55E00"
REDDISH_PURPLE = "#CC79A7"
SKY_BLUE = "#56B4E9"
YELLOW = "#F0E442"
BLACK = "#000000"
WHITE = "#FFFFFF"  # not Okabe–Ito: text on dark fills, and the gaps between bars
REFERENCE_GREY = "#999999"  # not Okabe–Ito: reference lines that should not stand out

OKABE_ITO = [BLUE, ORANGE, BLUISH_GREEN, VERMILLION, REDDISH_PURPLE, SKY_BLUE, YELLOW, BLACK]
