# Solution to exercise 2
choices = {
    "download 50 pages from a web server": "threads",
    "count words in 2 GB of text with a pure-Python loop": "processes",
    "SHA-256 of 20 large byte strings already in memory": "threads",
    "simulate 1,000 dice games with a pure-Python loop each": "processes",
}
