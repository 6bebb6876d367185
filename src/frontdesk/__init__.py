"""Frontdesk: a self-hosted contact-center chat and CTI server."""

__version__ = "0.1.0"
