# Solution to exercise 2
prediction = {
    "parent after the child": ["parent"],       # a child's changes never come back
    "child under fork": ["parent", "child"],    # a copy of the parent's memory
    "child under spawn": ["child"],             # a fresh interpreter imports afresh
    "child under forkserver": ["child"],        # a fork of a clean server, not of us
}
