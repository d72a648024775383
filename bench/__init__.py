"""fetcher's benchmarks (not part of the test run): python bench/run.py."""
