"""Diagnosis: from decided exchanges to ranked root causes with the fix for the user's stack.

`findings.diagnose(decided)` is the entry point; pandas is needed here, never in the engine.
"""
