"""SMTP Port Lab helpers: the machinery the notebooks stand on."""
