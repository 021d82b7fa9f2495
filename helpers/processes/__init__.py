"""Notebook 02 · processes: separate interpreters, separate memory.

``basics``     children under each start method, memory, start costs, the exercises' checks
``simulation`` the seed's "scientific simulations": a random walk, pure Python and numpy
"""
