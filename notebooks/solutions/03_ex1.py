# Solution to exercise 1
predicted_cpus = min(2, report.effective_cpus)  # 2 threads, at most one CPU each
zlib_comparison = compare("zlib", ("serial", "threads"), workers=2,
                          on_progress=progress_bar("zlib"))
zlib_comparison
