"""The web app and REST API behind `musclemap serve` (`musclemap.web.app.create_app`); needs [web]."""
