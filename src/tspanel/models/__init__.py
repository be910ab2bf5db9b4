"""Domain models: Parameterized classes over Polars LazyFrames, with no Panel import.

Every output is a small collected frame or a plain number, so the models are tested
by setting parameters and asserting on frames, and the browser only ever receives
aggregates.
"""
