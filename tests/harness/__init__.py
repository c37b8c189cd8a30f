"""Real services for tests: servers started and stopped by the test run."""
