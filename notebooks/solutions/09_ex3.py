# Solution to exercise 3
# Waiting on one server: asyncio (or threads). Pure-Python computing on 8 cores: processes
# (or interpreters on 3.14+, free-threading on a free-threaded build). A few small,
# ready replies: no pool pays off. 2 TB over a cluster: Dask.
tools = {
    "download 5,000 product pages from one slow web shop": "asyncio",
    "resize 400 photos with a pure-Python loop on an 8-core laptop": "processes",
    "parse 30 small JSON replies that already arrived": "serial",
    "count words in 2 TB of logs spread over a cluster": "dask",
}
