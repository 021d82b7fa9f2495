# Solution to exercise 2
smallest_winning_chunk = sweep.crossover()
