"""The web app and REST API behind `musclemap serve` (see `musclemap.web.app.create_app`)."""
