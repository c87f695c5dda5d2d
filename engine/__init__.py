"""The ECHO-CXR engine: model, decoders, imaging, reports and metrics.

The engine imports nothing from `training`, `app` or `db`. Public entry points are
`engine.pipeline.ReportGenerator`, `engine.results.Report` and `engine.results.StreamEvent`.
"""
