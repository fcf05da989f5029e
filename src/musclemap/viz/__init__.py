"""Pictures of a prediction: body map (SVG/PNG), timeline heat map (PNG), overlay video (mp4).

Import the submodules directly (`musclemap.viz.body_map`, `.timeline`, `.overlay`); this package
imports nothing heavy so `import musclemap.viz` stays cheap.
"""
