"""cropmrv: measuring, reporting and verifying greenhouse-gas emissions from crop production."""

__version__ = "0.1.0"
