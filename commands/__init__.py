"""Workload tooling: synthetic DTS workload generator and sample workload files."""
